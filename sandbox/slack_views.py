"""The fake Slack's views methods: App Home tabs (views.publish) and modals (views.open)."""

from __future__ import annotations

import secrets

from sandbox.slack_state import ApiError, validate_blocks


class ViewsMixin:
    def _view(self, args: dict, max_blocks: int = 100) -> dict:
        view = args.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise ApiError("invalid_arguments", "[ERROR] view must be a JSON object with a type")
        validate_blocks(view.get("blocks", []), max_blocks=max_blocks)
        return {**view, "id": self.new_id("V"), "team_id": self.team_id, "app_id": self.app_id,
                "bot_id": self.bot_id, "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
                "state": {"values": {}}, "blocks": self.with_block_ids(view.get("blocks", []))}

    def _m_views_publish(self, args: dict) -> dict:
        self.require_user(args.get("user_id"))
        old = self.home_views.get(args["user_id"])
        if args.get("hash") and old is not None and args["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._view(args)
        self.home_views[args["user_id"]] = view
        return {"view": view}

    def _m_views_open(self, args: dict) -> dict:
        if args.get("trigger_id") not in self._triggers:
            raise ApiError("invalid_trigger_id")
        self._triggers.discard(args["trigger_id"])  # trigger ids are single-use
        view = self._view(args)
        self.views_opened.append(view)
        user = self._trigger_users.pop(args["trigger_id"], None)
        if user is not None:
            self.modals[user] = {"view": view, "errors": {}}
        return {"view": view}
