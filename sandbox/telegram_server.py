"""Fake Telegram Bot API server (aiohttp) that the real python-telegram-bot client can talk to."""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from sandbox import telegram_media_methods  # noqa: F401 - importing registers sendPhoto & co
from sandbox.telegram_html import detect_entities
from sandbox.telegram_media import CAPTION_KINDS, MEDIA_KINDS, fake_bytes, media_object, non_file_object
from sandbox.telegram_methods import METHODS, Described
from sandbox.telegram_page import TelegramPageMixin
from sandbox.telegram_params import MAX_REQUEST_BYTES, Params, read_params
from sandbox.telegram_types import ApiError, Chat, SentMessage

__all__ = ["ApiError", "FakeTelegram", "SentMessage"]

log = logging.getLogger(__name__)


def _json(body: Any, status: int = 200) -> web.Response:
    # Telegram answers raw UTF-8 JSON, not \u-escaped ASCII.
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _error(err: ApiError) -> web.Response:
    return _json(err.body(), status=err.status)


class FakeTelegram(TelegramPageMixin):
    """In-process fake of api.telegram.org: customers act through methods, the bot through HTTP."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_id: int = 123456,
        bot_username: str = "baton_test_bot",
        per_chat_per_second: float | None = None,
        global_per_second: float | None = None,
        first_update_id: int | None = None,
    ) -> None:
        self._page_change = asyncio.Event()
        self.typing_since: dict[int, float] = {}
        super().__init__(
            token,
            bot_id=bot_id,
            bot_username=bot_username,
            per_chat_per_second=per_chat_per_second,
            global_per_second=global_per_second,
            first_update_id=first_update_id,
        )
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._callback_serial = 0
        self.page_closing = False
        # Telegram repeats a webhook delivery that did not get a 2xx "a reasonable amount of times"; the
        # sandbox does not unless asked (most tests want to see the first answer), e.g. for failover tests.
        self.webhook_retries = 0
        self.webhook_retry_delay = 0.05

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self.add_routes(app)
        # access_log=None: request paths contain the bot token, which must never be logged.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self._url = f"http://{host}:{bound[1]}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.closing = False

    async def stop(self) -> None:
        self.closing = True
        self.page_closing = True
        self.changed()  # ends the page's event streams
        async with self.updates_changed:
            self.updates_changed.notify_all()  # let pending long polls answer before shutdown
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._url

    # --- customers act -------------------------------------------------------------------------
    async def customer_sends(self, user_id: int, text: str, *, entities: list[dict] | None = None) -> dict:
        chat = await self._active_customer(user_id)
        message = self.new_message(chat, from_bot=False)
        message["text"] = text
        found = detect_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        return await self._customer_message(chat, message)

    async def customer_sends_media(
        self, user_id: int, kind: str, *, caption: str | None = None, **fields: Any
    ) -> dict:
        """A media message; `fields` override object fields (data=bytes, file_size=N, media_group_id=...)."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {', '.join(MEDIA_KINDS)}")
        if caption and kind not in CAPTION_KINDS:
            raise ValueError(f"{kind} messages cannot have a caption")
        chat = await self._active_customer(user_id)
        message = self.new_message(chat, from_bot=False)
        group_id = fields.pop("media_group_id", None)
        if kind in ("location", "venue", "contact"):
            message[kind] = non_file_object(kind, fields)
            if kind == "venue":  # Telegram sets `location` too, for clients that do not know venues
                message["location"] = dict(message["venue"]["location"])
        else:
            data, size = fields.pop("data", None), fields.pop("file_size", None)
            main = self.store_file(kind, data, file_size=size)
            files = [main]
            if kind == "photo":
                files = [self.store_file("photo", fake_bytes("photo", n)) for n in (1200, 9000)] + files
            elif kind in ("video", "animation", "video_note"):
                files.append(self.store_file("thumbnail", fake_bytes("thumbnail", 3000)))
            message[kind] = media_object(kind, files, fields)
            if kind == "animation":
                document_fields = {"file_name": message[kind]["file_name"], "mime_type": "video/mp4"}
                message["document"] = media_object("document", [main], document_fields)
        if group_id is not None:
            message["media_group_id"] = str(group_id)
        if caption:
            message["caption"] = caption
            if found := detect_entities(caption):
                message["caption_entities"] = found
        return await self._customer_message(chat, message)

    async def customer_edits(self, user_id: int, message_id: int, new_text: str) -> dict:
        chat = self.chats.get(user_id)
        original = self.find_message(chat, message_id) if chat else None
        if chat is None or original is None or original["from"]["is_bot"]:
            raise ValueError(f"customer {user_id} has no message {message_id} to edit")
        edited = copy.deepcopy(original)
        key = "text" if "text" in edited else "caption"
        edited[key] = new_text
        edited.pop("entities" if key == "text" else "caption_entities", None)
        if found := detect_entities(new_text):
            edited["entities" if key == "text" else "caption_entities"] = found
        edited["edit_date"] = self.now()
        chat.messages[message_id] = edited
        self.changed()
        await self._emit({"edited_message": copy.deepcopy(edited)})
        return copy.deepcopy(edited)

    async def customer_blocks_bot(self, user_id: int) -> None:
        chat = self.customer(user_id)
        chat.blocked = True
        self.changed()
        await self._emit({"my_chat_member": self._member_change(chat, "member", "kicked")})

    async def customer_unblocks_bot(self, user_id: int) -> None:
        chat = self.customer(user_id)
        if chat.blocked:
            chat.blocked = False
            self.changed()
            await self._emit({"my_chat_member": self._member_change(chat, "kicked", "member")})

    async def customer_presses_button(self, user_id: int, message_id: int, data: str) -> dict:
        """Press an inline button under a bot message: emits a callback_query update and returns it."""
        chat = self.chats.get(user_id)
        message = self.find_message(chat, message_id) if chat else None
        if chat is None or message is None:
            raise ValueError(f"chat {user_id} has no message {message_id}")
        self._callback_serial += 1
        query = {
            "id": str(4_000_000_000_000_000 + self._callback_serial), "from": dict(chat.user),
            "message": copy.deepcopy(message), "chat_instance": str(-8_000_000_000_000 - chat.id),
            "data": data,
        }
        await self._emit({"callback_query": copy.deepcopy(query)})
        return query

    async def push_update(self, update: dict) -> int | None:
        """Emit a raw update; returns the webhook's HTTP status (0 = unreachable), else None."""
        return await self._emit(dict(update))

    async def _active_customer(self, user_id: int) -> Chat:
        # Writing to a bot you blocked unblocks it first (the client's "Restart" button).
        await self.customer_unblocks_bot(user_id)
        return self.customer(user_id)

    async def _customer_message(self, chat: Chat, message: dict[str, Any]) -> dict:
        self.store_message(chat, message)
        await self._emit({"message": copy.deepcopy(message)})
        return copy.deepcopy(message)

    def _member_change(self, chat: Chat, old: str, new: str) -> dict[str, Any]:
        def member(status: str) -> dict[str, Any]:
            # A "kicked" ChatMember always carries until_date (0: forever), in old and new alike.
            return {"user": dict(self.bot_user), "status": status, **({"until_date": 0} if status == "kicked" else {})}

        return {
            "chat": self.chat_object(chat), "from": dict(chat.user), "date": self.now(),
            "old_chat_member": member(old), "new_chat_member": member(new),
        }

    # --- update delivery -----------------------------------------------------------------------
    async def _emit(self, update: dict[str, Any]) -> int | None:
        prepared = self.prepare_update(update)
        if prepared is None:
            return None  # filtered by allowed_updates: Telegram never creates it
        if self.webhook_url:
            return await self._deliver(prepared)
        await self.queue_update(prepared)
        return None

    async def _deliver(self, update: dict[str, Any]) -> int:
        """POST one update to the webhook like Telegram does, repeating it `webhook_retries` times on failure."""
        status = await self._deliver_once(update)
        for attempt in range(self.webhook_retries):
            if 200 <= status < 300:
                break
            await asyncio.sleep(self.webhook_retry_delay * 2 ** attempt)
            status = await self._deliver_once(update)
        return status

    async def _deliver_once(self, update: dict[str, Any]) -> int:
        if self._session is None or self.webhook_url is None:
            raise RuntimeError("FakeTelegram must be started before delivering to a webhook")
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            async with self._session.post(self.webhook_url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
                reason = response.reason or ""
        except (aiohttp.ClientError, TimeoutError) as err:
            status, reason = 0, type(err).__name__
        self.webhook_deliveries.append((update["update_id"], status))
        if not 200 <= status < 300:
            error = f"Wrong response from the webhook: {status} {reason}" if status else "Connection refused"
            self.last_webhook_error = (int(time.time()), error)
        return status

    def on_webhook_set(self) -> None:
        if not self.pending_updates:
            return
        task = asyncio.get_running_loop().create_task(self._flush_pending())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_pending(self) -> None:
        while self.pending_updates and self.webhook_url:
            await self._deliver(self.pending_updates.pop(0))

    # --- HTTP handlers -------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if not hmac.compare_digest(request.match_info["token"].encode(), self.token.encode()):
            return _error(ApiError(401, "Unauthorized"))
        try:
            params = await read_params(request)
        except ApiError as err:
            return _error(err)
        entry = METHODS.get(request.match_info["method"].lower())
        method = entry[0] if entry else request.match_info["method"]
        self.calls.append((method, params))
        if entry is None:
            return _error(ApiError(404, "Not Found: method not found"))
        fault = self.take_fault(method)
        if fault is not None and fault.drop:
            if request.transport is not None:
                request.transport.close()
            # aiohttp treats a cancelled handler as a vanished client: nothing is written or logged.
            raise asyncio.CancelledError
        if fault is not None and fault.garbled is not None:
            return _json({"ok": True, "result": fault.garbled})
        if fault is not None:
            return _error(ApiError(fault.status, fault.description, retry_after=fault.retry_after))
        try:
            result = await entry[1](self, Params(params), method)
        except ApiError as err:
            return _error(err)
        except Exception:
            log.exception("fake Telegram failed in %s", method)  # the path (with the token) is not logged
            return _error(ApiError(500, "Internal Server Error"))
        if isinstance(result, Described):
            return _json({"ok": True, "result": result.result, "description": result.description})
        return _json({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if not hmac.compare_digest(request.match_info["token"].encode(), self.token.encode()):
            return _error(ApiError(401, "Unauthorized"))
        stored = self.file_by_path(request.match_info["path"])
        if stored is None:
            return _error(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")
