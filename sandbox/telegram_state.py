"""In-memory model of the fake Telegram: chats, updates, files, observations, faults and flood control."""

from __future__ import annotations

import asyncio
import copy
import math
import random
import time
from collections.abc import Callable
from typing import Any

from sandbox.telegram_media import FILE_KINDS, StoredFile, fake_bytes, make_file_ids
from sandbox.telegram_types import ApiError, Chat, Fault, SentMessage

# Update types Telegram leaves out when allowed_updates is empty or was never set.
_NOT_DEFAULT_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
# Bots may edit and delete their own messages for 48 hours; after that Telegram refuses.
BOT_MESSAGE_WINDOW = 48 * 3600


class TelegramState:
    """Everything the fake server knows; FakeTelegram adds HTTP on top."""

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
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": bot_id, "is_bot": True, "first_name": "Baton Test Bot", "username": bot_username,
        }
        self.chats: dict[int, Chat] = {}
        # Observations for tests.
        self.sent: list[SentMessage] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.calls: list[tuple[str, dict]] = []
        self.edits: list[SentMessage] = []
        self.deletions: list[tuple[int, int]] = []
        self.callback_answers: list[dict[str, Any]] = []
        # Webhook / polling configuration.
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = unreachable)
        self.last_webhook_error: tuple[int, str] | None = None
        self.allowed_updates: list[str] | None = None
        self.commands: dict[str, list[dict[str, Any]]] = {}
        # Flood control; None disables. Plain attributes so tests can change them at any time.
        self.per_chat_per_second = per_chat_per_second
        self.global_per_second = global_per_second
        self._buckets: dict[Any, tuple[float, float]] = {}
        self._faults: list[Fault] = []
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_serial = 0
        # Real update ids start at an arbitrary number; random by default so bots can't assume 1.
        self._next_update_id = first_update_id or random.randint(100_000, 900_000_000)
        self.pending_updates: list[dict[str, Any]] = []
        self.poll_generation = 0
        self.closing = False  # set on shutdown so long polls return at once
        self.updates_changed = asyncio.Condition()
        self._sent_changed = asyncio.Condition()
        self._media_group_serial = 13_000_000_000_000_000
        # Seconds added to the wall clock for message dates and age checks: advance_clock() lets a test
        # make every message "old" (past the 48-hour edit window) without waiting.
        self.clock_offset = 0.0

    def now(self) -> int:
        """Telegram's idea of the current unix time (the wall clock plus `clock_offset`)."""
        return int(time.time() + self.clock_offset)

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += seconds

    def too_old_to_change(self, message: dict[str, Any]) -> bool:
        """A bot message older than Telegram's edit/delete window."""
        return bool(message["from"]["is_bot"]) and self.now() - int(message["date"]) > BOT_MESSAGE_WINDOW

    # --- customers and chats -------------------------------------------------------------------
    def add_customer(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> None:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        extra = {"last_name": last_name, "username": username, "language_code": language_code}
        user.update({k: v for k, v in extra.items() if v is not None})
        if user_id in self.chats:
            self.chats[user_id].user = user
        else:
            self.chats[user_id] = Chat(user=user)
        self.changed()

    def customer(self, user_id: int) -> Chat:
        if user_id not in self.chats:
            self.add_customer(user_id, f"User{user_id}")
        return self.chats[user_id]

    @staticmethod
    def chat_object(chat: Chat) -> dict[str, Any]:
        user = chat.user
        obj = {"id": chat.id, "first_name": user["first_name"]}
        obj.update({k: user[k] for k in ("last_name", "username") if k in user})
        obj["type"] = "private"
        return obj

    def new_message(self, chat: Chat, *, from_bot: bool) -> dict[str, Any]:
        """Allocate the next message_id in the chat (shared by both sides, as in private chats)."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        sender = self.bot_user if from_bot else chat.user
        return {
            "message_id": message_id, "from": dict(sender), "chat": self.chat_object(chat),
            "date": self.now(),
        }

    def changed(self) -> None:
        """Hook for the HTTP layer: something a person could see changed (the sandbox page updates)."""

    def store_message(self, chat: Chat, message: dict[str, Any]) -> None:
        chat.messages[message["message_id"]] = message
        chat.order.append(message["message_id"])
        self.changed()

    def find_message(self, chat: Chat, message_id: int) -> dict[str, Any] | None:
        if message_id in chat.deleted:
            return None
        return chat.messages.get(message_id)

    def next_media_group_id(self) -> str:
        self._media_group_serial += 1
        return str(self._media_group_serial)

    # --- updates -------------------------------------------------------------------------------
    def prepare_update(self, update: dict[str, Any]) -> dict[str, Any] | None:
        """Assign an update_id; None if allowed_updates filters the update out (it is never created)."""
        kinds = [k for k in update if k != "update_id"]
        allowed = set(self.allowed_updates or []) or None
        if kinds and (kinds[0] not in allowed if allowed else kinds[0] in _NOT_DEFAULT_UPDATES):
            return None
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        return update

    async def queue_update(self, update: dict[str, Any]) -> None:
        async with self.updates_changed:
            self.pending_updates.append(update)
            self.updates_changed.notify_all()

    def confirm_updates(self, offset: int) -> None:
        """getUpdates offset semantics: ids below offset are forgotten; negative keeps the last -offset."""
        if offset < 0:
            self.pending_updates = self.pending_updates[offset:]
        elif offset:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]

    def on_webhook_set(self) -> None:
        """Hook for the HTTP layer: deliver updates that queued up before the webhook existed."""

    # --- files ---------------------------------------------------------------------------------
    def store_file(
        self, kind: str, data: bytes | None = None, *, file_size: int | None = None, ext: str | None = None
    ) -> StoredFile:
        self._file_serial += 1
        directory, default_ext, _ = FILE_KINDS[kind]
        data = fake_bytes(kind) if data is None else data
        file_id, unique_id = make_file_ids(kind, self._file_serial, self.bot_user["id"])
        path = f"{directory}/file_{self._file_serial}.{ext or default_ext}"
        stored = StoredFile(file_id, unique_id, path, kind, data, file_size or len(data))
        self.files[file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return self._files_by_path.get(path)

    # --- observation ---------------------------------------------------------------------------
    async def record_sent(self, record: SentMessage) -> None:
        self.sent.append(record)
        self.changed()
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def record_edit(self, record: SentMessage) -> None:
        self.edits.append(record)
        self.changed()
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def record_chat_action(self, chat_id: int, action: str) -> None:
        self.chat_actions.append((chat_id, action))
        self.changed()
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def record_callback_answer(self, answer: dict[str, Any]) -> None:
        self.callback_answers.append(answer)
        self.changed()
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def record_deletion(self, chat_id: int, message_id: int) -> None:
        self.deletions.append((chat_id, message_id))
        self.changed()
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, *, what: str = "condition") -> Any:
        """predicate()'s first truthy value, re-checked whenever the bot sends, edits, deletes or shows an action."""
        async with self._sent_changed:
            try:
                await asyncio.wait_for(self._sent_changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; edits={self.edits!r}, "
                                     f"deletions={self.deletions!r}") from None
        return predicate()

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,
    ) -> list[SentMessage]:
        """The first `count` messages sent to chat_id, waiting (event-driven) up to `timeout` seconds."""
        async with self._sent_changed:
            try:
                await asyncio.wait_for(
                    self._sent_changed.wait_for(lambda: len(self.messages_to(chat_id)) >= count), timeout
                )
            except TimeoutError:
                got = self.messages_to(chat_id)
                lines = [f"  {m.method} #{m.message_id}: {m.text!r}" for m in got] or ["  (nothing)"]
                others = sorted({m.chat_id for m in self.sent} - {chat_id})
                raise AssertionError(
                    f"expected {count} message(s) to chat {chat_id} within {timeout}s, got {len(got)}:\n"
                    + "\n".join(lines)
                    + (f"\nmessages were sent to other chats: {others}" if others else "")
                ) from None
        return self.messages_to(chat_id)[:count]

    # --- fault injection and flood control -----------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` fail, after letting `after` matching calls succeed."""
        self._faults.append(Fault(method, times, status, description, retry_after, skip=after))

    def garble_next(self, method: str, result: Any, times: int = 1) -> None:
        """The next `times` calls of `method` answer "ok" with `result`, whatever shape it is."""
        self._faults.append(Fault(method, times, garbled=result))

    def drop_next(self, method: str, times: int = 1, *, after: int = 0) -> None:
        self._faults.append(Fault(method, times, drop=True, skip=after))

    def take_fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def check_flood(self, chat_id: int) -> None:
        """Token buckets per chat and global; raises 429 with retry_after like Telegram's flood control."""
        now = time.monotonic()
        limits = [(("chat", chat_id), self.per_chat_per_second), ("global", self.global_per_second)]
        active = [(key, rate) for key, rate in limits if rate]
        refilled = {}
        wait = 0.0
        for key, rate in active:
            capacity = max(1.0, rate)  # allows a short burst of `rate` messages, like Telegram does
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            refilled[key] = tokens
            if tokens < 1:
                wait = max(wait, (1 - tokens) / rate)
        if wait:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        for key, tokens in refilled.items():
            self._buckets[key] = (tokens - 1, now)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every chat with its full conversation, both directions, for the demo console."""
        chats = []
        for chat in self.chats.values():
            history = []
            for message_id in chat.order:
                message = copy.deepcopy(chat.messages[message_id])
                message["deleted"] = message_id in chat.deleted
                message["direction"] = "out" if message["from"]["is_bot"] else "in"
                history.append(message)
            chats.append({"user": dict(chat.user), "blocked": chat.blocked, "messages": history})
        return chats
