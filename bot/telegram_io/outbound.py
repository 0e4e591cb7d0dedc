"""Core → Telegram: delivers outbox rows to customers and classifies Bot API errors once."""

from __future__ import annotations

import html
import logging
from dataclasses import replace

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core import effects as fx
from bot.core.campaigns import CAMPAIGN_SEND
from bot.core.handles import Database, as_id, payload_of
from bot.core.media import FetchFile, decode_shared, no_fetch
from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Failed, Loaded, Result, RetryLater
from bot.telegram_io.campaigns import CampaignDelivery
from bot.telegram_io.convert import split_html
from bot.telegram_io.errors import classify
from bot.telegram_io.outbound_edits import KINDS as EDIT_KINDS
from bot.telegram_io.outbound_edits import TelegramEdits
from bot.telegram_io.shared_files import SharedFileSender
from storage.models import OutboxItem

log = logging.getLogger(__name__)


class TelegramDeliverer:
    destination = fx.TELEGRAM

    def __init__(self, bot: Bot, db: Database, pacer: Pacer | None = None, *,
                 fetch_operator_file: FetchFile = no_fetch, campaigns: CampaignDelivery | None = None) -> None:
        self.bot = bot
        self.campaigns = campaigns
        self.db = db
        self.pacer = pacer
        self.shared_files = SharedFileSender(bot, fetch_operator_file, self._send)
        self.edits = TelegramEdits(bot, self._send)

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        customer, message = loaded.customer, loaded.message
        if customer is None:
            return Failed("unknown customer")
        if customer.blocked:
            # Blocked by an admin (`/baton block`): nothing reaches them, not even what was already queued.
            return Delivered(skipped="the customer is blocked")
        if item.kind == CAMPAIGN_SEND and self.campaigns is not None:
            return await self.campaigns.deliver(item, customer)
        if item.kind == fx.RATING:
            return await self._ask_rating(customer.tg_chat_id, item)
        if item.kind == fx.CHOICES:
            conv = loaded.conversation
            if conv is None or conv.mode != "agent":
                return Delivered(skipped="taken over before the agent's question left")
            if message is None:
                return Failed("the question to deliver no longer exists")
            return await self._offer_choices(customer.tg_chat_id, message.html, item)
        if item.kind in EDIT_KINDS:
            return await self.edits.deliver(item, customer.tg_chat_id, message)
        if item.kind == fx.NOTICE:
            markup = html.escape(str(payload_of(item).get("text", "")), quote=False)
        elif message is not None:
            # Checked right before sending: a takeover that landed while the agent was answering wins.
            # (`loaded` was read in the transaction that claimed this row, just now.)
            conv = loaded.conversation
            if item.kind == fx.DELIVER_AGENT and (conv is None or conv.mode != "agent"):
                return Delivered(skipped="taken over before the agent's reply left")
            if message.deleted_at is not None:
                return Delivered(skipped="deleted by its author before it left")
            markup = message.html
            if message.slack_files:
                return await self.shared_files.send(customer.tg_chat_id, markup, decode_shared(message.slack_files))
        else:
            return Failed("the message to deliver no longer exists")
        return await self._send(customer.tg_chat_id, markup, int(payload_of(item).get("chunks_sent", 0)))

    async def _ask_rating(self, chat_id: int, item: OutboxItem) -> Result:
        text = str(payload_of(item).get("text", ""))
        # callback_data names the conversation, so a late press still rates the right one.
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(f"{n} ★", callback_data=rating_data(
            item.conversation_id or 0, n)) for n in range(1, 6)]])
        try:
            if self.pacer is not None:
                await self.pacer.wait(chat_id)
            sent = await self.bot.send_message(chat_id, html.escape(text, quote=False), parse_mode=ParseMode.HTML,
                                               reply_markup=keyboard)
        except TelegramError as exc:
            return classify(exc)
        return Delivered(tg_message_id=sent.message_id)

    async def _offer_choices(self, chat_id: int, markup: str, item: OutboxItem) -> Result:
        payload = payload_of(item)
        labels = [str(label) for label in payload.get("choices", [])] + [str(payload.get("person", ""))]
        # callback_data has 64 bytes: it carries the button's position; the press reads its label back.
        rows = [[InlineKeyboardButton(label, callback_data=choice_data(item.conversation_id or 0, n))]
                for n, label in enumerate(labels)]
        rows[-1] = [InlineKeyboardButton(labels[-1], callback_data=choice_data(item.conversation_id or 0, None))]
        try:
            if self.pacer is not None:
                await self.pacer.wait(chat_id)
            sent = await self.bot.send_message(chat_id, markup, parse_mode=ParseMode.HTML,
                                               reply_markup=InlineKeyboardMarkup(rows))
        except TelegramError as exc:
            return classify(exc)
        return Delivered(tg_message_id=sent.message_id)

    async def _send(self, chat_id: int, markup: str, already_sent: int = 0) -> Result:
        """Send in chunks of Telegram's size; a retry resumes after the chunks that already went out."""
        sent_id: int | None = None
        chunks = split_html(markup)
        done = already_sent
        try:
            for chunk in chunks[already_sent:]:
                if self.pacer is not None:
                    await self.pacer.wait(chat_id)
                sent = await self.bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML,
                                                   disable_web_page_preview=True)
                sent_id = sent.message_id
                done += 1
        except TelegramError as exc:
            result = classify(exc)
            # A retry resumes after the chunks that already went out.
            return replace(result, progress=_progress(done)) if isinstance(result, RetryLater) else result
        return Delivered(tg_message_id=sent_id)


def rating_data(conversation_id: int, rating: int) -> str:
    return f"csat:{conversation_id}:{rating}"


def parse_rating(data: str | None) -> tuple[int, int] | None:
    """(conversation id, rating) from a rating button's callback_data; None for anything else."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "csat" or parts[2] not in ("1", "2", "3", "4", "5"):
        return None
    conversation_id = as_id(parts[1])
    return (conversation_id, int(parts[2])) if conversation_id is not None else None


def choice_data(conversation_id: int, position: int | None) -> str:
    """A choice button's callback_data: its position, or "person" for the talk-to-a-person button."""
    return f"pick:{conversation_id}:{'person' if position is None else position}"


def parse_choice(data: str | None) -> tuple[int, int | None] | None:
    """(conversation id, position or None for a person) from a choice button; None for anything else."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "pick" or not parts[1].isdigit():
        return None
    if parts[2] == "person":
        return int(parts[1]), None
    return (int(parts[1]), int(parts[2])) if parts[2].isdigit() else None


def _progress(chunks_sent: int) -> dict[str, int] | None:
    return {"chunks_sent": chunks_sent} if chunks_sent else None
