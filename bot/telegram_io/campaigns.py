"""Sending a campaign's message to one chat: text (or a photo with the text as caption) and a URL button."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Result
from bot.telegram_io.errors import classify
from storage.models import Campaign

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
