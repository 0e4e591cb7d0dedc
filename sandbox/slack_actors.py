"""Human actions in the fake workspace (post, edit, click, slash command...) and response_url handling."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from aiohttp import web

from sandbox.slack_delivery import DeliveryMixin
from sandbox.slack_rich_text import rich_text_block
from sandbox.slack_state import Ephemeral, Response, find_action


class HumanActionsMixin(DeliveryMixin):
    """Everything a person can do; each call returns once the app acked (or the ack timed out)."""

    url: str
    _response_urls: dict[str, dict]
    _triggers: set[str]
    _trigger_users: dict[str, str]

    # --- payload pieces --------------------------------------------------------------------

    def _user_ref(self, user_id: str) -> dict:
        user = self.require_user(user_id)
        return {"id": user_id, "username": user["name"], "name": user["name"], "team_id": self.team_id}

    def _channel_ref(self, channel: str) -> dict:
        return {"id": channel, "name": self.channels.get(channel, {}).get("name", channel)}

    def _team_ref(self) -> dict:
        return {"id": self.team_id, "domain": "baton-sandbox"}

    def _new_trigger(self, user_id: str) -> str:
        trigger = self.trigger_id()
        self._triggers.add(trigger)
        self._trigger_users[trigger] = user_id  # a modal opened with it shows to this person
        return trigger

    def _new_response_url(self, context: dict) -> str:
        rid = secrets.token_urlsafe(12)
        self._response_urls[rid] = context
        return f"{self.url}response/{rid}"

    def _interactive_base(self, kind: str, user_id: str, channel: str, context: dict) -> dict:
        return {
            "type": kind, "token": self.verification_token, "api_app_id": self.app_id,
            "team": self._team_ref(), "enterprise": None, "is_enterprise_install": False,
            "user": self._user_ref(user_id),
            "channel": self._channel_ref(channel), "trigger_id": self._new_trigger(user_id),
            "response_url": self._new_response_url({"user": user_id, "channel": channel, **context}),
        }

    # --- messages --------------------------------------------------------------------------

    async def user_posts(self, user_id: str, channel: str, text: str, *,
                         thread_ts: str | None = None) -> dict:
        msg = self.store_user_message(user_id, channel, text, thread_ts)
        await self.deliver_event({**msg, "channel": channel})
        return self.message(channel, msg["ts"])

    async def user_edits(self, user_id: str, channel: str, ts: str, new_text: str) -> None:
        if self.message(channel, ts).get("user") != user_id:
            raise PermissionError(f"{user_id} cannot edit {ts}: Slack only lets authors edit")
        blocks = copy.deepcopy(self.message(channel, ts).get("blocks") or [])
        blocks[:1] = [rich_text_block(new_text, block.get("block_id")) for block in blocks[:1]]
        previous, current = self.edit(channel, ts, user_id, {"text": new_text, "blocks": blocks})
        await self.deliver_event({"type": "message", "subtype": "message_changed", "hidden": True,
                                  "channel": channel, "ts": self.next_ts(), "message": current,
                                  "previous_message": previous})

    async def user_deletes(self, user_id: str, channel: str, ts: str) -> None:
        previous = self.remove(channel, ts)
        await self.deliver_event({"type": "message", "subtype": "message_deleted", "hidden": True,
                                  "channel": channel, "ts": self.next_ts(), "deleted_ts": ts,
                                  "previous_message": previous})

    # --- interactivity ---------------------------------------------------------------------

    def _action(self, blocks: list[dict] | None, action_id: str, value: str | None) -> dict:
        block_id, element = find_action(blocks, action_id)
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": element.get("type"),
                                  "action_ts": self.next_ts()}
        if element.get("text") is not None:
            action["text"] = element["text"]
        if element.get("style"):
            action["style"] = element["style"]
        chosen = value if value is not None else element.get("value")
        if element.get("type") in ("static_select", "overflow") and value is not None:
            # Slack sends the chosen option itself for menus.
            options = element.get("options") or []
            option = next((o for o in options if o.get("value") == value), None)
            action["selected_option"] = option
        if chosen is not None:
            action["value"] = chosen
        return action

    async def click_button(self, user_id: str, channel: str, message_ts: str, action_id: str, *,
                           value: str | None = None) -> Response:
        msg = self.message(channel, message_ts)
        action = self._action(msg.get("blocks"), action_id, value)
        container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel,
                                     "is_ephemeral": False}
        if msg.get("thread_ts"):
            container["thread_ts"] = msg["thread_ts"]
        payload = {**self._interactive_base("block_actions", user_id, channel,
                                            {"message_ts": message_ts, "thread_ts": msg.get("thread_ts")}),
                   "container": container, "message": msg, "state": {"values": {}}, "actions": [action]}
        return await self._deliver("interactive", payload)

    async def click_ephemeral_button(self, user_id: str, ephemeral: Ephemeral, action_id: str, *,
                                     value: str | None = None) -> Response:
        action = self._action(ephemeral.blocks, action_id, value)
        container: dict[str, Any] = {"type": "message", "message_ts": ephemeral.message_ts,
                                     "channel_id": ephemeral.channel, "is_ephemeral": True}
        if ephemeral.thread_ts:
            container["thread_ts"] = ephemeral.thread_ts
        context = {"ephemeral": ephemeral, "thread_ts": ephemeral.thread_ts}
        payload = {**self._interactive_base("block_actions", user_id, ephemeral.channel, context),
                   "container": container, "state": {"values": {}}, "actions": [action]}
        return await self._deliver("interactive", payload)

    async def click_home_button(self, user_id: str, action_id: str, *, value: str | None = None) -> Response:
        """A button on the person's App Home tab: block_actions from a view (no channel, no response_url)."""
        view = self.home_views.get(user_id)
        if view is None:
            raise LookupError(f"{user_id} has no App Home view")
        action = self._action(view.get("blocks"), action_id, value)
        payload = {"type": "block_actions", "token": self.verification_token, "api_app_id": self.app_id,
                   "team": self._team_ref(), "user": self._user_ref(user_id), "trigger_id": self._new_trigger(user_id),
                   "is_enterprise_install": False, "enterprise": None,
                   "container": {"type": "view", "view_id": view["id"]}, "view": copy.deepcopy(view),
                   "actions": [action]}
        return await self._deliver("interactive", payload)

    async def message_shortcut(self, user_id: str, callback_id: str, channel: str,
                               message_ts: str) -> Response:
        msg = self.message(channel, message_ts)
        payload = {**self._interactive_base("message_action", user_id, channel,
                                            {"thread_ts": msg.get("thread_ts")}),
                   "callback_id": callback_id, "action_ts": self.next_ts(), "message_ts": message_ts,
                   "message": msg}
        return await self._deliver("interactive", payload)

    async def slash_command(self, user_id: str, command: str, text: str = "", *, channel: str) -> Response:
        user = self.require_user(user_id)
        self.require_channel(channel)
        # Slash command requests are flat form fields, all strings.
        payload = {
            "token": self.verification_token, "team_id": self.team_id, "team_domain": "baton-sandbox",
            "channel_id": channel, "channel_name": self._channel_ref(channel)["name"], "user_id": user_id,
            "user_name": user["name"], "command": command, "text": text, "api_app_id": self.app_id,
            "is_enterprise_install": "false", "trigger_id": self._new_trigger(user_id),
            "response_url": self._new_response_url({"user": user_id, "channel": channel}),
        }
        resp = await self._deliver("slash_commands", payload)
        if resp.status == 200 and isinstance(resp.body, str):
            # A text/plain HTTP answer means {"text": ...} to Slack (bolt's socket adapter does the same).
            resp = Response(status=200, body={"text": resp.body})
        # Slack shows a non-empty immediate reply: ephemeral by default, or in channel.
        body = resp.body if resp.status == 200 and isinstance(resp.body, dict) else {}
        if body.get("text") or body.get("blocks"):
            self._show_reply({"user": user_id, "channel": channel}, body)
        return resp

    async def submit_view(self, user_id: str, view: dict, values: dict[str, dict[str, Any]]) -> Response:
        """Submit a modal the app opened (from `views_opened`). `values` maps an input block's id to its
        element's state, e.g. {"message": {"value": "Hi"}, "audience": {"selected_option": {"value": "all"}}};
        the answer's body is the app's ack (`response_action: errors` keeps the modal open)."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks") or []:
            element = block.get("element") if block.get("type") == "input" else None
            if isinstance(element, dict) and element.get("action_id"):
                chosen = values.get(block["block_id"], {})
                state[block["block_id"]] = {element["action_id"]: {"type": element.get("type"), **chosen}}
        payload = {"type": "view_submission", "token": self.verification_token, "api_app_id": self.app_id,
                   "team": self._team_ref(), "user": self._user_ref(user_id), "trigger_id": self._new_trigger(user_id),
                   "is_enterprise_install": False, "enterprise": None,
                   "view": {**copy.deepcopy(view), "state": {"values": state}}}
        return await self._deliver("interactive", payload)

    async def open_home(self, user_id: str) -> Response:
        self.require_user(user_id)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:],
                                 "tab": "home", "event_ts": self.next_ts()}
        if user_id in self.home_views:
            event["view"] = copy.deepcopy(self.home_views[user_id])
        return await self.deliver_event(event)

    # --- response_url ----------------------------------------------------------------------

    def _show_reply(self, context: dict, body: dict) -> None:
        thread_ts = body.get("thread_ts") or context.get("thread_ts")
        if body.get("response_type") == "in_channel":
            args = {k: body[k] for k in ("text", "blocks", "attachments", "metadata") if k in body}
            msg = self.store_bot_message(context["channel"], {**args, "thread_ts": thread_ts})
            self._emit_echo({**msg, "channel": context["channel"]})
        else:
            self.add_ephemeral(context["channel"], context["user"], str(body.get("text") or ""),
                               body.get("blocks"), thread_ts)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        context = self._response_urls.get(request.match_info["rid"])
        if context is None:
            return web.Response(status=404, text="no_such_response_url")
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        self.responses.append(body)
        eph: Ephemeral | None = context.get("ephemeral")
        channel, ts = context["channel"], context.get("message_ts")
        original = self.find(channel, ts) if ts else None
        replace, delete = bool(body.get("replace_original")), bool(body.get("delete_original"))
        if delete and eph is not None:
            eph.deleted = True
        elif delete and original is not None:
            self.remove(channel, original["ts"])
        elif replace and eph is not None:
            eph.text, eph.blocks = str(body.get("text") or ""), self.with_block_ids(body.get("blocks"))
        elif replace and original is not None and original.get("bot_id") == self.bot_id:
            changes = {k: body[k] for k in ("text", "attachments") if k in body}
            changes["blocks"] = self.with_block_ids(body.get("blocks")) or []
            self.edit(channel, original["ts"], self.bot_user_id, changes)
        elif not delete:
            self._show_reply(context, body)
        self.changed()
        return web.json_response({"ok": True})
