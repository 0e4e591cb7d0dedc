"""Long polling that confirms an update to Telegram only after Baton has committed it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.core.workers import Worker
from bot.telegram_io.inbound import TelegramInbound

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member", "callback_query"]


def _chat_of(update: Update) -> int:
    """What orders updates: the chat (a private chat's id is its user's), else the update alone."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return -update.update_id


class TelegramPoller:
    def __init__(self, bot: Bot, inbound: TelegramInbound, *, timeout: int = 30) -> None:
        self.bot = bot
        self.inbound = inbound
        self.timeout = timeout
        self.offset: int | None = None
        self.healthy = True
        # One poll and the handling of what it brought is a step; the next step follows at once.
        self.worker = Worker("telegram-polling", self._poll, idle_seconds=0)
        self._webhook_cleared = False
        self._fetching = False
        self._failures = 0

    @property
    def _stopping(self) -> bool:
        return self.worker.stopping

    def start(self) -> None:
        # May start again after a stop: leadership can move away from this instance and back.
        self._webhook_cleared = False
        self.worker.start()

    async def stop(self) -> None:
        if self.worker.running:
            # Interrupt a long poll at once, but let a batch being handled finish: cancelling a commit
            # half-way would leave SQLite locked.
            await self.worker.stop(grace=0 if self._fetching else None)
        if self.offset is not None:
            # Confirm what was handled so a restart does not fetch it again (it would be ignored anyway).
            try:
                await self.bot.get_updates(offset=self.offset, timeout=0, limit=1)
            except TelegramError as exc:
                log.debug("could not confirm the last updates: %s", exc)

    async def _poll(self) -> None:
        self._fetching = True  # waiting on Telegram: safe to interrupt
        if not self._webhook_cleared:
            # Webhook and polling exclude each other; a leftover webhook would make getUpdates fail.
            await self._retrying(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            self._webhook_cleared = True
        updates = await self._fetch()
        self._fetching = False
        handled = await self._handle_all(updates)
        for update in updates:
            if update.update_id not in handled:
                break  # unconfirmed updates stay with Telegram and come back on the next poll
            self.offset = update.update_id + 1

    async def _handle_all(self, updates: tuple[Update, ...]) -> set[int]:
        """Handle a poll's updates: each chat's in order, different chats side by side (so that the core can
        commit them together); the ids of those handled. A chat stops at its first update that could not be
        handled; updates after it in the poll are not confirmed, come back, and what was handled of them is
        recognised by its receipt."""
        chats: dict[int, list[Update]] = {}
        for update in updates:
            chats.setdefault(_chat_of(update), []).append(update)
        handled: set[int] = set()

        async def in_order(chain: list[Update]) -> None:
            for update in chain:
                if self._stopping or not await self._handle(update):
                    return
                handled.add(update.update_id)

        await asyncio.gather(*(in_order(chain) for chain in chats.values()))
        return handled

    async def _fetch(self) -> tuple[Update, ...]:
        try:
            updates = await self.bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                 allowed_updates=ALLOWED_UPDATES)
            self._failures = 0
            self.healthy = True
            return updates
        except InvalidToken:
            self.healthy = False
            log.critical("Telegram rejected the bot token; polling paused (fix [telegram] token)")
            await asyncio.sleep(30)
        except Conflict:
            log.error("another process is polling this bot token; only one may (use webhook mode to scale)")
            await asyncio.sleep(5)
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx
            self._failures += 1
            log.warning("getUpdates failed (%s); retrying", exc)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** min(self._failures, 6)))
        return ()

    async def _handle(self, update: Update) -> bool:
        try:
            await self.inbound.handle_update(update)
        except (OperationalError, DBAPIError, OSError):
            log.exception("update %s: storage unavailable; will fetch it again", update.update_id)
            await asyncio.sleep(1)
            return False
        except Exception:
            # A bug must not wedge the queue behind one update: log it with its id and move on.
            log.exception("update %s: failed to handle; skipping it", update.update_id)
        return True

    async def _retrying(self, call: Callable[[], Awaitable[object]]) -> None:
        for attempt in range(5):
            try:
                await call()
                return
            except TelegramError as exc:
                log.warning("Telegram call failed (%s), attempt %s", exc, attempt + 1)
                await asyncio.sleep(0.5 * 2 ** attempt)
