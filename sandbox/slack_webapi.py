"""Web API half of the fake Slack: /api/{method} parsing, auth, fault injection and method handlers."""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.slack_delivery import DeliveryMixin
from sandbox.slack_state import MAX_UPDATE_TEXT, PERMALINK_HOST, ApiError, validate_blocks
from sandbox.slack_views import ViewsMixin

_JSON_ARGS = ("blocks", "attachments", "metadata", "view", "files", "user_auth_blocks")
_APP_TOKEN_METHODS = {"apps.connections.open"}


def _decode(args: dict) -> dict:
    # Form-encoded calls carry JSON-valued args as strings; JSON calls carry them as objects.
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except ValueError as exc:
                raise ApiError(f"invalid_{key}_format" if key != "files" else "invalid_arguments") from exc
    return args


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


async def parse_args(request: web.Request) -> dict:
    """Merge query string and body (JSON, urlencoded or multipart), as Slack accepts all of them."""
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                args[key] = value.file.read() if hasattr(value, "file") else value
    return args


class WebApiMixin(ViewsMixin, DeliveryMixin):
    """Handlers for /api/* and the upload URL; mixed into FakeSlack."""

    bot_token: str
    app_token: str
    per_channel_post_limit: float | None
    post_burst: int
    _faults: dict[str, list[dict]]
    _holds: dict[str, asyncio.Event]
    _buckets: dict[str, tuple[float, float]]
    _pending_uploads: dict[str, dict]
    _triggers: set[str]
    call_log: list[dict]

    # provided by FakeSlack
    url: str
    _socket_url: Callable[[str], str]

    # --- fault injection -------------------------------------------------------------------

    def fail_next(self, method: str, *, error: str = "internal_error", status: int = 200,
                  retry_after: int | None = None, times: int = 1) -> None:
        fault = {"kind": "fail", "error": error, "status": status, "retry_after": retry_after}
        self._faults.setdefault(method, []).extend(dict(fault) for _ in range(times))

    def drop_next(self, method: str, times: int = 1) -> None:
        self._faults.setdefault(method, []).extend({"kind": "drop"} for _ in range(times))

    def lose_answer_next(self, method: str, how: str = "drop", *, status: int = 503, seconds: float = 2.0,
                         times: int = 1) -> None:
        """The next call(s) of `method` take effect, then the answer is lost: "drop" closes the connection,
        "hang" answers only after `seconds` (past the client's timeout), "error" answers HTTP `status`."""
        if how not in ("drop", "hang", "error"):
            raise ValueError(f"unknown way to lose an answer: {how!r}")
        fault = {"kind": "after", "how": how, "status": status, "seconds": seconds}
        self._faults.setdefault(method, []).extend(dict(fault) for _ in range(times))

    def hold(self, method: str) -> None:
        """Calls of `method` stay unanswered (a slow Slack) until `release(method)`."""
        self._holds.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def _rate_limited(self, channel: str) -> int | None:
        """Token bucket per channel for chat.postMessage; returns Retry-After seconds when empty."""
        rate = self.per_channel_post_limit
        if not rate:
            return None
        now = self.clock()
        tokens, last = self._buckets.get(channel, (float(self.post_burst), now))
        tokens = min(float(self.post_burst), tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / rate))
        self._buckets[channel] = (tokens - 1, now)
        return None

    # --- HTTP entry point ------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = _decode(await parse_args(request))
        except ApiError as exc:
            args, early = {}, exc
        else:
            early = None
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        body_token = args.pop("token", None)
        self.calls.append((method, args))
        entry: dict[str, Any] = {"method": method, "args": args}
        self.call_log.append(entry)
        try:
            return await self._answer(request, method, args, token, body_token, early, entry)
        finally:
            self.changed()

    async def _answer(self, request: web.Request, method: str, args: dict, token: str | None,
                      body_token: Any, early: ApiError | None, entry: dict) -> web.StreamResponse:
        gate = self._holds.get(method)
        if gate is not None:
            entry["held"] = True
            self.changed()  # a test can wait until the call is in hand
            await gate.wait()
        faults = self._faults.get(method)
        lose = faults.pop(0) if faults and faults[0]["kind"] == "after" else None
        if faults and lose is None:
            fault = faults.pop(0)
            if fault["kind"] == "drop":
                entry.update(status=0, error="dropped")
                # Closing the transport makes the client see a disconnect with no response at all.
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
            status = fault["status"]
            entry.update(status=status, error=fault["error"])
            if status == 429:
                entry["error"] = "ratelimited"
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(fault["retry_after"] or 1)})
            if status >= 500:
                return web.Response(status=status, text=f"sandbox injected HTTP {status}")
            return web.json_response({"ok": False, "error": fault["error"]}, status=status)
        try:
            if early is not None:
                raise early
            self._authenticate(method, token if token is not None else body_token, token)
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise ApiError("unknown_method")
            if method == "chat.postMessage" and (wait := self._rate_limited(str(args.get("channel")))):
                entry.update(status=429, error="ratelimited")
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(wait)})
            result = handler(args)
            if lose is not None:
                return await self._lose_answer(request, lose, entry, result)
        except ApiError as exc:
            entry.update(status=200, error=exc.error)
            body: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            return web.json_response(body)
        entry.update(status=200, error=None)
        return web.json_response({"ok": True, **result})

    async def _lose_answer(self, request: web.Request, lose: dict, entry: dict, result: dict) -> web.StreamResponse:
        """The call took effect; its answer does not reach the client (see lose_answer_next)."""
        entry.update(applied=True, error=f"answer lost ({lose['how']})")
        if lose["how"] == "drop":
            entry["status"] = 0
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if lose["how"] == "error":
            entry["status"] = lose["status"]
            return web.Response(status=lose["status"], text=f"sandbox injected HTTP {lose['status']}")
        entry["held"] = True
        self.changed()
        await asyncio.sleep(lose["seconds"])
        entry["status"] = 200
        return web.json_response({"ok": True, **result})

    def _authenticate(self, method: str, token: Any, header_token: str | None) -> None:
        if method in _APP_TOKEN_METHODS:
            # Slack requires the app-level token in the Authorization header for this one.
            if header_token is None:
                raise ApiError("not_authed")
            if header_token == self.bot_token:
                raise ApiError("not_allowed_token_type")
            if header_token != self.app_token:
                raise ApiError("invalid_auth")
            return
        if not token:
            raise ApiError("not_authed")
        if token == self.app_token:
            raise ApiError("not_allowed_token_type")
        if token != self.bot_token:
            raise ApiError("invalid_auth")

    # --- methods ---------------------------------------------------------------------------

    def _m_auth_test(self, args: dict) -> dict:
        return {"url": f"{PERMALINK_HOST}/", "team": "Baton Sandbox", "user": self.bot_name,
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _m_apps_connections_open(self, args: dict) -> dict:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": self._socket_url(ticket)}

    def _content(self, args: dict, *, update: bool = False) -> None:
        if args.get("text") and args.get("markdown_text"):
            raise ApiError("markdown_text_conflict")
        if not update and not any(args.get(k) for k in ("text", "blocks", "attachments", "markdown_text")):
            raise ApiError("no_text")
        if args.get("blocks") is not None:
            validate_blocks(args["blocks"])
            if len(json.dumps(args["blocks"])) > 13_000:
                raise ApiError("msg_blocks_too_long")
        if len(args.get("attachments") or []) > 100:
            raise ApiError("too_many_attachments")

    def _m_chat_postMessage(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        if not self.channels[channel].get("is_member", True):
            raise ApiError("not_in_channel")
        self._content(args)
        msg = self.store_bot_message(channel, args)
        self._emit_echo({**msg, "channel": channel})
        return {"channel": channel, "ts": msg["ts"], "message": self.message(channel, msg["ts"])}

    def _m_chat_update(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        msg = self.find(channel, args.get("ts"))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.bot_id:
            raise ApiError("cant_update_message")
        if len(str(args.get("text") or "")) > MAX_UPDATE_TEXT:
            raise ApiError("msg_too_long")
        self._content(args, update=True)
        changes = {k: args[k] for k in ("text", "attachments", "metadata") if args.get(k) is not None}
        if args.get("blocks") is not None:
            changes["blocks"] = self.with_block_ids(args["blocks"])
        elif "text" in changes:
            changes["blocks"] = []  # Slack drops old blocks when only text is supplied
        previous, current = self.edit(channel, msg["ts"], self.bot_user_id, changes)
        self._emit_echo(self._changed_event(channel, previous, current))
        return {"channel": channel, "ts": msg["ts"], "text": current.get("text", ""), "message": current}

    def _changed_event(self, channel: str, previous: dict, current: dict) -> dict:
        return {"type": "message", "subtype": "message_changed", "hidden": True, "channel": channel,
                "ts": self.next_ts(), "message": current, "previous_message": previous}

    def _m_chat_delete(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        msg = self.find(channel, args.get("ts"))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.bot_id:
            raise ApiError("cant_delete_message")
        previous = self.remove(channel, msg["ts"])
        self._emit_echo({"type": "message", "subtype": "message_deleted", "hidden": True, "channel": channel,
                         "ts": self.next_ts(), "deleted_ts": previous["ts"], "previous_message": previous})
        return {"channel": channel, "ts": previous["ts"]}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        if args.get("user") not in self.users:
            raise ApiError("user_not_in_channel")
        self._content(args)
        eph = self.add_ephemeral(channel, args["user"], str(args.get("text") or ""), args.get("blocks"),
                                 args.get("thread_ts") or None)
        return {"message_ts": eph.message_ts}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        if self.find(channel, args.get("message_ts")) is None:
            raise ApiError("message_not_found")
        return {"channel": channel, "permalink": self.permalink(channel, str(args["message_ts"]))}

    def _m_users_info(self, args: dict) -> dict:
        return {"user": self.require_user(args.get("user"))}

    def _m_users_lookupByEmail(self, args: dict) -> dict:
        for user in self.users.values():
            if user["profile"]["email"] == args.get("email"):
                return {"user": user}
        raise ApiError("users_not_found")

    def _m_users_list(self, args: dict) -> dict:
        return {"members": list(self.users.values()), "cache_ts": int(self.clock()),
                "response_metadata": {"next_cursor": ""}}

    def _m_usergroups_users_list(self, args: dict) -> dict:
        group = self.usergroups.get(args.get("usergroup"))  # type: ignore[arg-type]
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _m_usergroups_list(self, args: dict) -> dict:
        include = _flag(args.get("include_users"))
        return {"usergroups": [g if include else {k: v for k, v in g.items() if k != "users"}
                               for g in self.usergroups.values()]}

    def _m_conversations_info(self, args: dict) -> dict:
        return {"channel": self.channels[self.require_channel(args.get("channel"))]}

    def _m_conversations_open(self, args: dict) -> dict:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise ApiError("users_list_not_supplied" if not users else "not_implemented")
        self.require_user(users[0])
        channel = self.require_channel("D" + users[0][1:])
        return {"channel": {"id": channel}}

    def _page(self, items: list[dict], args: dict) -> dict:
        limit = int(args.get("limit") or 1000)
        return {"messages": items[:limit], "has_more": len(items) > limit,
                "response_metadata": {"next_cursor": ""}}

    def _m_conversations_replies(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        msg = self.find(channel, args.get("ts"))
        if msg is None:
            raise ApiError("thread_not_found")
        root = msg.get("thread_ts") or msg["ts"]
        parent = self.find(channel, root)
        items = ([self.message(channel, root)] if parent else []) + self.thread(channel, root)
        return self._page(items, args)

    def _m_conversations_history(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or math.inf)
        inclusive = _flag(args.get("inclusive"))
        items = [m for m in reversed(self.messages(channel))
                 if (oldest < float(m["ts"]) < latest) or (inclusive and float(m["ts"]) in (oldest, latest))]
        return self._page(items, args)

    def _m_reactions_add(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        msg = self.find(channel, args.get("timestamp"))
        if msg is None:
            raise ApiError("message_not_found")
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        names = self.reactions.setdefault((channel, msg["ts"]), [])
        if name in names:
            raise ApiError("already_reacted")
        names.append(name)
        reaction = next((r for r in msg.setdefault("reactions", []) if r["name"] == name), None)
        if reaction is None:
            msg["reactions"].append({"name": name, "users": [self.bot_user_id], "count": 1})
        else:
            reaction["users"].append(self.bot_user_id)
            reaction["count"] += 1
        return {}

    def _m_reactions_remove(self, args: dict) -> dict:
        channel = self.require_channel(args.get("channel"))
        msg = self.find(channel, args.get("timestamp"))
        names = self.reactions.get((channel, str(args.get("timestamp"))), [])
        name = str(args.get("name") or "").strip(":")
        if msg is None or name not in names:
            raise ApiError("no_reaction" if msg else "message_not_found")
        names.remove(name)
        for r in msg.get("reactions", []):
            if r["name"] == name and self.bot_user_id in r["users"]:
                r["users"].remove(self.bot_user_id)
                r["count"] -= 1
        msg["reactions"] = [r for r in msg.get("reactions", []) if r["count"] > 0]
        return {}
