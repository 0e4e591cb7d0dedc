"""The Telegram sandbox page's server side: HTML, live fragments, events, files and customers' actions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from sandbox.live import stream_changes
from sandbox.telegram_console import render_chat, render_chat_list, render_console
from sandbox.telegram_media import FILE_KINDS
from sandbox.telegram_state import TelegramState
from sandbox.telegram_types import Chat

TYPING_SECONDS = 5.0  # Telegram's apps show a chat action for about five seconds
_STATIC_TYPES = {"telegram.js": "text/javascript", "telegram.css": "text/css"}


class TelegramPageMixin(TelegramState):
    """Mixed into FakeTelegram; `customer_*` methods are the server's."""

    _page_change: asyncio.Event
    page_closing: bool
    # chat -> when the bot last showed a chat action ("typing…") that no message has ended yet
    typing_since: dict[int, float]

    def store_message(self, chat: Chat, message: dict[str, Any]) -> None:
        if message["from"]["is_bot"]:
            self.typing_since.pop(chat.id, None)  # a message ends the chat action, as in Telegram's apps
        super().store_message(chat, message)

    async def record_chat_action(self, chat_id: int, action: str) -> None:
        self.typing_since[chat_id] = time.monotonic()
        await super().record_chat_action(chat_id, action)

    def changed(self) -> None:
        # Swap in a fresh Event so every open page wakes exactly once per change.
        event, self._page_change = self._page_change, asyncio.Event()
        event.set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._handle_console)
        app.router.add_get("/_sandbox/chats", self._handle_chats)
        app.router.add_get("/_sandbox/fragments", self._handle_fragments)
        app.router.add_get("/_sandbox/events", self._handle_events)
        app.router.add_get("/_sandbox/static/{name}", self._handle_static)
        app.router.add_get("/_sandbox/files/{file_id}", self._handle_file_view)
        app.router.add_post("/_sandbox/send", self._handle_console_send)
        app.router.add_post("/_sandbox/press", self._handle_press)
        app.router.add_post("/_sandbox/send_media", self._handle_send_media)

    def typing(self, chat_id: int) -> bool:
        since = self.typing_since.get(chat_id)
        return since is not None and time.monotonic() - since < TYPING_SECONDS

    def _selected(self, request: web.Request) -> int | None:
        raw = request.query.get("chat", "")
        if raw.lstrip("-").isdigit() and int(raw) in self.chats:
            return int(raw)
        return next(iter(self.chats), None) if request.path == "/" and not raw else None

    async def _handle_console(self, request: web.Request) -> web.StreamResponse:
        selected = self._selected(request)
        html = render_console(self.snapshot(), self.bot_user, selected, selected is not None and self.typing(selected))
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def _handle_fragments(self, request: web.Request) -> web.StreamResponse:
        selected = self._selected(request)
        chats = self.snapshot()
        chat = next((c for c in chats if c["user"]["id"] == selected), None)
        typing = selected is not None and self.typing(selected)
        return web.json_response({"list": render_chat_list(chats, selected), "chat": render_chat(chat, typing),
                                  "typing": typing})

    async def _handle_chats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"bot": self.bot_user, "chats": self.snapshot()})

    async def _handle_events(self, request: web.Request) -> web.StreamResponse:
        return await stream_changes(request, lambda: self._page_change, lambda: self.page_closing)

    async def _handle_static(self, request: web.Request) -> web.StreamResponse:
        from sandbox.slack_ui import _STATIC_DIR  # one folder for both pages' files

        name = request.match_info["name"]
        if name not in _STATIC_TYPES:
            raise web.HTTPNotFound()
        return web.Response(body=(_STATIC_DIR / name).read_bytes(), content_type=_STATIC_TYPES[name],
                            headers={"Cache-Control": "no-cache"})

    async def _handle_file_view(self, request: web.Request) -> web.StreamResponse:
        """A file for the page (the browser has no bot token, and must never see it)."""
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound(text="no such file")
        kind = FILE_KINDS.get(stored.kind, ("", "", "application/octet-stream"))[2]
        return web.Response(body=stored.data, content_type=kind)

    # --- customers act ---------------------------------------------------------------------

    async def _handle_console_send(self, request: web.Request) -> web.StreamResponse:
        """Act as a customer from the page (form post) or a script (JSON post)."""
        wants_json = request.content_type == "application/json"
        data = dict(await request.json()) if wants_json else dict(await request.post())
        text = str(data.get("text") or "").strip()
        raw_id = str(data.get("user_id") or "").strip()
        if not text or (raw_id and not raw_id.lstrip("-").isdigit()):
            raise web.HTTPBadRequest(text="text is required and user_id must be an integer")
        user_id = int(raw_id) if raw_id else max([*self.chats, 10_000_000]) + 1
        first_name = str(data.get("first_name") or "").strip()
        if user_id not in self.chats and first_name:
            extra = {k: str(data.get(k) or "").strip().lstrip("@") or None
                     for k in ("last_name", "username", "language_code")}
            self.add_customer(user_id, first_name, **extra)
        message = await self.customer_sends(user_id, text)  # type: ignore[attr-defined]
        if wants_json or "application/json" in request.headers.get("Accept", ""):
            return web.json_response({"ok": True, "result": message})
        raise web.HTTPSeeOther(f"/?chat={user_id}")

    async def _handle_press(self, request: web.Request) -> web.StreamResponse:
        data = dict(await request.post())
        try:
            query = await self.customer_presses_button(  # type: ignore[attr-defined]
                int(str(data["user_id"])), int(str(data["message_id"])), str(data["data"]))
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        answer = await self._callback_answer(query["id"])
        # Telegram's apps show the bot's answer text briefly over the chat.
        return web.json_response({"ok": True, "query_id": query["id"], "answer": (answer or {}).get("text")})

    async def _callback_answer(self, query_id: str, timeout: float = 3.0) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = self._page_change
            found = next((a for a in self.callback_answers if str(a.get("callback_query_id")) == query_id), None)
            if found is not None or loop.time() >= deadline:
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), deadline - loop.time())

    async def _handle_send_media(self, request: web.Request) -> web.StreamResponse:
        data = await request.post()
        kind = str(data.get("kind") or "")
        raw_id = str(data.get("user_id") or "")
        if kind not in ("photo", "document", "voice", "location") or not raw_id.lstrip("-").isdigit():
            raise web.HTTPBadRequest(text="kind must be photo, document, voice or location, with a user_id")
        fields: dict[str, Any] = {}
        upload = data.get("file")
        if isinstance(upload, web.FileField):
            fields["data"] = upload.file.read()
            if kind == "document":
                fields["file_name"] = upload.filename
                fields["mime_type"] = upload.content_type or "application/octet-stream"
        caption = str(data.get("caption") or "").strip() or None
        message = await self.customer_sends_media(int(raw_id), kind, caption=caption,  # type: ignore[attr-defined]
                                                  **fields)
        return web.json_response({"ok": True, "result": message})
