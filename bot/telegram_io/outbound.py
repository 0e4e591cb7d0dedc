"""Core → Telegram: delivers outbox rows to customers and classifies Bot API errors once.

One handler per outbox kind (`self.routes`), each given the row, its typed payload and what the claim
loaded (bot/core/claim.py)."""

from __future__ import annotations

import html
import logging
from dataclasses import replace

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core import effects as fx
from bot.core import outbox_kinds as k
from bot.core.handles import Database, as_id
from bot.core.media import FetchFile, decode_shared, no_fetch
from bot.core.outbox_routes import Route, Routes
from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Failed, Loaded, Result, RetryLater
from bot.telegram_io.campaigns import CampaignDelivery
from bot.telegram_io.convert import split_html
from bot.telegram_io.errors import classify
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

        self.routes = Routes(
            fx.TELEGRAM,
            Route(k.DELIVER, self._deliver_message), Route(k.DELIVER_AGENT, self._deliver_message),
            Route(k.NOTICE, self._notice), Route(k.RATING, self._ask_rating), Route(k.CHOICES, self._offer_choices),
            Route(k.EDIT, self._edit), Route(k.DELETE, self._delete), Route(k.CORRECTION, self._correct),
            Route(k.CAMPAIGN_SEND, self._campaign_send))

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        customer = loaded.customer
        if customer is None:
            return Failed("unknown customer")
        if customer.blocked:
            # Blocked by an admin (`/baton block`): nothing reaches them, not even what was already queued.
            return Delivered(skipped="the customer is blocked")
        return await self.routes.deliver(item, loaded)

    # --- one handler per outbox kind (`deliver` has checked that there is a customer to send to) ----------

    async def _deliver_message(self, item: OutboxItem, payload: k.Chunked, loaded: Loaded) -> Result:
        message, chat_id = loaded.message, _chat_of(loaded)
        if message is None:
            return Failed("the message to deliver no longer exists")
        # Checked right before sending: a takeover that landed while the agent was answering wins.
        # (`loaded` was read in the transaction that claimed this row, just now.)
        conv = loaded.conversation
        if item.kind == k.DELIVER_AGENT and (conv is None or conv.mode != "agent"):
            return Delivered(skipped="taken over before the agent's reply left")
        if message.deleted_at is not None:
            return Delivered(skipped="deleted by its author before it left")
        if message.slack_files:
            return await self.shared_files.send(chat_id, message.html, decode_shared(message.slack_files))
        return await self._send(chat_id, message.html, payload.chunks_sent)

    async def _campaign_send(self, item: OutboxItem, payload: k.CampaignSendRef, loaded: Loaded) -> Result:
        if self.campaigns is None:
            return Failed("campaigns are not set up in this process")
        assert loaded.customer is not None  # checked by `deliver`
        return await self.campaigns.deliver(loaded.campaign, loaded.customer)

    async def _notice(self, item: OutboxItem, payload: k.Notice, loaded: Loaded) -> Result:
        return await self._send(_chat_of(loaded), html.escape(payload.text, quote=False), payload.chunks_sent)

    async def _ask_rating(self, item: OutboxItem, payload: k.Rating, loaded: Loaded) -> Result:
        chat_id = _chat_of(loaded)
        # callback_data names the conversation, so a late press still rates the right one.
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(f"{n} ★", callback_data=rating_data(
            item.conversation_id or 0, n)) for n in range(1, 6)]])
        try:
            if self.pacer is not None:
                await self.pacer.wait(chat_id)
            sent = await self.bot.send_message(chat_id, html.escape(payload.text, quote=False),
                                               parse_mode=ParseMode.HTML, reply_markup=keyboard)
        except TelegramError as exc:
            return classify(exc)
        return Delivered(tg_message_id=sent.message_id)

    async def _offer_choices(self, item: OutboxItem, payload: k.Choices, loaded: Loaded) -> Result:
        conv, message, chat_id = loaded.conversation, loaded.message, _chat_of(loaded)
        if conv is None or conv.mode != "agent":
            return Delivered(skipped="taken over before the agent's question left")
        if message is None:
            return Failed("the question to deliver no longer exists")
        labels = [*payload.choices, payload.person]
        # callback_data has 64 bytes: it carries the button's position; the press reads its label back.
        rows = [[InlineKeyboardButton(label, callback_data=choice_data(item.conversation_id or 0, n))]
                for n, label in enumerate(labels)]
        rows[-1] = [InlineKeyboardButton(labels[-1], callback_data=choice_data(item.conversation_id or 0, None))]
        try:
            if self.pacer is not None:
                await self.pacer.wait(chat_id)
            sent = await self.bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML,
                                               reply_markup=InlineKeyboardMarkup(rows))
        except TelegramError as exc:
            return classify(exc)
        return Delivered(tg_message_id=sent.message_id)

    async def _edit(self, item: OutboxItem, payload: k.Edit, loaded: Loaded) -> Result:
        return await self.edits.deliver(item, _chat_of(loaded), loaded.message, html=payload.html,
                                        previous_html=payload.previous_html)

    async def _delete(self, item: OutboxItem, payload: k.Bare, loaded: Loaded) -> Result:
        return await self.edits.deliver(item, _chat_of(loaded), loaded.message)

    async def _correct(self, item: OutboxItem, payload: k.Correction, loaded: Loaded) -> Result:
        return await self.edits.deliver(item, _chat_of(loaded), loaded.message, html=payload.html)

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


def _chat_of(loaded: Loaded) -> int:
    assert loaded.customer is not None  # checked by `deliver` before any handler runs
    return loaded.customer.tg_chat_id


def _progress(chunks_sent: int) -> dict[str, int] | None:
    return {"chunks_sent": chunks_sent} if chunks_sent else None
