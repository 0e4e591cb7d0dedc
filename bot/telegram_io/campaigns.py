"""Sending a campaign's message to one chat: text (or a photo with the text as caption) and a URL button.

Each recipient's message is a Telegram outbox row (kind CAMPAIGN_SEND) in the customer's lane; the
deliverer hands it here, and its outcome settles the recipient (bot/core/campaigns.py send_settled)."""

from __future__ import annotations

import asyncio

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core.campaigns import CANCELLED
from bot.core.handles import Database
from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Failed, Result
from bot.telegram_io.errors import classify
from storage.models import Campaign, Customer

# Telegram's limit for a photo caption; a longer text goes as its own message after the photo.
CAPTION_LIMIT = 1024


class CampaignSend:
    def __init__(self, bot: Bot, pacer: Pacer | None = None) -> None:
        self.bot = bot
        # The deliverer's pacer: campaign messages count against the same overall Telegram budget.
        self.pacer = pacer

    async def __call__(self, chat_id: int, campaign: Campaign) -> Result:
        markup = None
        if campaign.button_label and campaign.button_url:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(campaign.button_label, url=campaign.button_url)]])
        try:
            if self.pacer is not None:
                await self.pacer.wait(chat_id)
            if campaign.image_url and len(campaign.html) <= CAPTION_LIMIT:
                sent = await self.bot.send_photo(chat_id, campaign.image_url, caption=campaign.html,
                                                 parse_mode=ParseMode.HTML, reply_markup=markup)
            else:
                if campaign.image_url:
                    await self.bot.send_photo(chat_id, campaign.image_url)
                sent = await self.bot.send_message(chat_id, campaign.html, parse_mode=ParseMode.HTML,
                                                   reply_markup=markup, disable_web_page_preview=True)
        except TelegramError as exc:
            return classify(exc, what="the campaign message")
        return Delivered(tg_message_id=sent.message_id)


class CampaignDelivery:
    """The deliverer's part for campaign rows: the campaign checked as it is now, then paced and sent."""

    def __init__(self, send: CampaignSend, db: Database, pacer: Pacer) -> None:
        self.send = send
        self.db = db
        # The campaigns' own budget (`[campaigns] per_second`, burst 1: an even spacing), so a campaign never
        # eats the whole overall Telegram budget at once; shared by all instances on PostgreSQL.
        self.pacer = pacer
        # One campaign message leaves at a time (per process), each after its paced turn: the queued messages
        # wait in their lanes, and the spacing Telegram sees is the budget's, not compressed by the jitter of
        # several sends in flight at once.
        self._one_at_a_time = asyncio.Lock()

    async def deliver(self, campaign: Campaign | None, customer: Customer) -> Result:
        """`campaign` as the claim of the row read it, just now."""
        if campaign is None:
            return Failed("campaign not found")
        if campaign.status != "sending":
            return Delivered(skipped=CANCELLED)  # checked before every send: a cancel stops what is queued
        if customer.opted_out:
            return Delivered(skipped="opted out")
        if customer.unreachable:
            return Delivered(skipped="blocked the bot")
        async with self._one_at_a_time:
            await self.pacer.wait("campaign")
            try:
                return await self.send(customer.tg_chat_id, campaign)
            except Exception as exc:  # a bug must not retry forever: this recipient fails, visibly
                return Failed(f"unexpected error: {type(exc).__name__}")
