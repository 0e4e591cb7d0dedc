"""Core → Telegram, after the fact: editing and deleting a delivered reply, or correcting it anew."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.core import effects as fx
from bot.core.ports import Delivered, Failed, Result, RetryLater
from bot.telegram_io.convert import split_html
from storage.models import Message, OutboxItem

log = logging.getLogger(__name__)

Send = Callable[[int, str], Awaitable[Result]]


class TelegramEdits:
    def __init__(self, bot: Bot, send: Send) -> None:
        self.bot = bot
        # The deliverer's own send: a correction is a new message, split and classified like any other.
        self.send = send

    async def deliver(self, item: OutboxItem, chat_id: int, message: Message | None, *, html: str | None = None,
                      previous_html: str = "") -> Result:
        """An edit, deletion or correction (by `item.kind`); `html`: the new text, None for the message's."""
        if message is None:
            return Failed("the message no longer exists")
        if message.deleted_at is not None and item.kind != fx.DELETE:
            return Delivered(skipped="deleted since; the deletion follows")
        html = message.html if html is None else html
        if item.kind == fx.CORRECTION:
            return await self.send(chat_id, f"Correction: {html}")
        if message.tg_message_id is None:
            return Delivered(skipped="it never reached the customer")
        try:
            if item.kind == fx.DELETE:
                return await self._delete(chat_id, message.tg_message_id, message.html)
            return await self._edit(chat_id, message.tg_message_id, html, previous_html)
        except RetryAfter as exc:
            after = exc.retry_after
            return RetryLater("Telegram flood control",
                              after=after.total_seconds() if isinstance(after, timedelta) else float(after))
        except Forbidden as exc:
            return Failed(f"the customer has blocked the bot ({exc.message})", unreachable=True)
        except InvalidToken:
            log.critical("Telegram rejected the bot token; fix [telegram] token and restart")
            return RetryLater("Telegram rejected the bot token", after=60)
        except NetworkError as exc:  # includes TimedOut; BadRequest is handled by each call
            return RetryLater(f"network error talking to Telegram: {exc.message}")
        except TelegramError as exc:
            return RetryLater(f"Telegram error: {exc.message}")

    async def _edit(self, chat_id: int, message_id: int, html: str, previous_html: str) -> Result:
        if len(split_html(html)) != 1 or len(split_html(previous_html)) > 1:
            # Baton keeps the id of a long reply's last part only; one edit cannot reshape several messages.
            return Failed("it does not fit in one Telegram message", not_editable=True)
        try:
            await self.bot.edit_message_text(html, chat_id=chat_id, message_id=message_id,
                                             parse_mode=ParseMode.HTML, disable_web_page_preview=True)
        except BadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                return Delivered()  # the reply left with this text already (it was edited before it left)
            if "can't be edited" in reason or "message to edit not found" in reason:
                return Failed(f"Telegram no longer allows editing it: {exc.message}", not_editable=True)
            return Failed(f"Telegram refused the edit: {exc.message}")
        return Delivered()

    async def _delete(self, chat_id: int, message_id: int, html: str) -> Result:
        if len(split_html(html)) > 1:
            return Failed("it was sent in several parts and Baton knows only the last one")
        try:
            deleted = await self.bot.delete_message(chat_id, message_id)
        except BadRequest as exc:
            if "message to delete not found" in exc.message.lower():
                return Delivered(skipped="already gone from the chat")
            return Failed(f"Telegram refused: {exc.message}")
        return Delivered() if deleted else Failed("Telegram did not delete it")
