"""Core → Telegram: delivers outbox rows to customers and classifies Bot API errors once."""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.core import effects as fx
from bot.core.ports import Delivered, Failed, Result, RetryLater
from bot.telegram_io.convert import split_html
from bot.telegram_io.outbound_edits import KINDS as EDIT_KINDS
from bot.telegram_io.outbound_edits import TelegramEdits
from storage import conversations, customers, messages, outbox
from storage.db import Database
from storage.models import OutboxItem

log = logging.getLogger(__name__)


class TelegramDeliverer:
    destination = fx.TELEGRAM

    def __init__(self, bot: Bot, db: Database) -> None:
        self.bot = bot
        self.db = db
        self.edits = TelegramEdits(bot, self._send)

    async def deliver(self, item: OutboxItem) -> Result:
        customer_id = int(item.lane.split(":", 1)[1])
        async with self.db.transaction() as session:
            customer = await customers.get(session, customer_id)
            message = await messages.get(session, item.message_id) if item.message_id else None
            conv = await conversations.get(session, item.conversation_id) if item.conversation_id else None
        if customer is None:
            return Failed("unknown customer")
        if item.kind in EDIT_KINDS:
            return await self.edits.deliver(item, customer.tg_chat_id, message)
        if item.kind == fx.NOTICE:
            markup = html.escape(str(outbox.payload_of(item).get("text", "")), quote=False)
        elif message is not None:
            # Checked right before sending: a takeover that landed while the agent was answering wins.
            if item.kind == fx.DELIVER_AGENT and (conv is None or conv.mode != "agent"):
                return Delivered(skipped="taken over before the agent's reply left")
            if message.deleted_at is not None:
                return Delivered(skipped="deleted by its author before it left")
            markup = message.html
        else:
            return Failed("the message to deliver no longer exists")
        return await self._send(customer.tg_chat_id, markup)

    async def _send(self, chat_id: int, markup: str) -> Result:
        sent_id: int | None = None
        try:
            for chunk in split_html(markup):
                sent = await self.bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML,
                                                   disable_web_page_preview=True)
                sent_id = sent.message_id
        except RetryAfter as exc:
            after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
            return RetryLater("Telegram flood control", after=seconds)
        except Forbidden as exc:
            return Failed(f"the customer has blocked the bot ({exc.message})", unreachable=True)
        except InvalidToken:
            log.critical("Telegram rejected the bot token; fix [telegram] token and restart")
            return RetryLater("Telegram rejected the bot token", after=60)
        except ChatMigrated as exc:
            return Failed(f"the chat moved to {exc.new_chat_id}")
        except BadRequest as exc:
            return Failed(f"Telegram refused the message: {exc.message}")
        except NetworkError as exc:  # includes TimedOut
            return RetryLater(f"network error talking to Telegram: {exc.message}")
        except TelegramError as exc:
            return RetryLater(f"Telegram error: {exc.message}")
        return Delivered(tg_message_id=sent_id)
