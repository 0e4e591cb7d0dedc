"""Telegram → core: each Update becomes at most one core event."""

from __future__ import annotations

import hashlib
import html
import logging

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from bot.core.events import (
    CustomerBlockedBot,
    CustomerEdited,
    CustomerInfo,
    CustomerMessage,
    CustomerRated,
    CustomerStarted,
    CustomerStopped,
    Delivery,
)
from bot.core.service import Service
from bot.telegram_io.media import customer_file, readable_html
from bot.telegram_io.outbound import parse_choice, parse_rating

log = logging.getLogger(__name__)

# What a customer can send besides text, and how it reads as text (history, search; files go to Slack too).
_KIND_LABELS = {
    "photo": "📷 Photo", "document": "📄 Document", "voice": "🎤 Voice message", "video": "🎬 Video",
    "video_note": "📹 Video message", "audio": "🎵 Audio", "sticker": "Sticker", "animation": "GIF",
    "location": "📍 Location", "venue": "📍 Venue", "contact": "👤 Contact", "poll": "📊 Poll", "dice": "🎲 Dice",
}


def message_kind(message: Message) -> str:
    for kind in ("animation", "photo", "document", "voice", "video", "video_note", "audio", "sticker",
                 "venue", "location", "contact", "poll", "dice"):
        if getattr(message, kind, None):
            return kind
    return "text" if message.text is not None else "other"


def _content(message: Message, kind: str) -> tuple[str, str]:
    """(plain text, neutral HTML) of a message; other kinds get a readable placeholder."""
    if kind == "text":
        return message.text or "", message.text_html or ""
    label = _KIND_LABELS.get(kind, "Unsupported message")
    if kind == "sticker" and message.sticker and message.sticker.emoji:
        label = f"{label} {message.sticker.emoji}"
    placeholder = f"[{label}]"
    if message.caption:
        return f"{placeholder} {message.caption}", f"<i>{html.escape(placeholder)}</i> {message.caption_html}"
    return placeholder, f"<i>{html.escape(placeholder)}</i>"


class TelegramInbound:
    def __init__(self, service: Service) -> None:
        self.service = service

    async def handle_update(self, update: Update) -> None:
        member = update.my_chat_member
        if member is not None and member.chat.type == ChatType.PRIVATE:
            status = member.new_chat_member.status
            blocked = status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            await self.service.handle(CustomerBlockedBot(
                Delivery("telegram", f"update:{update.update_id}"), member.from_user.id, blocked))
            return
        if update.callback_query is not None:
            await self._button(update)
            return
        if update.edited_message is not None:
            await self._edited(update.edited_message)
            return
        message = update.message
        if message is None:
            log.debug("update %s: nothing for Baton (%s)", update.update_id,
                      next(iter(update.to_dict().keys() - {"update_id"}), "empty"))
            return
        if message.chat.type != ChatType.PRIVATE or message.from_user is None or message.from_user.is_bot:
            log.info("update %s: ignoring a message from a %s chat", update.update_id, message.chat.type)
            return
        if filters.StatusUpdate.ALL.check_update(update):
            # A pinned message, a new title, an auto-delete timer...: Telegram's notices, nothing the customer
            # wrote. Mirroring them opened conversations about "[Unsupported message]" and called a human.
            log.debug("update %s: a service message, nothing for Baton", update.update_id)
            return
        user = message.from_user
        customer = CustomerInfo(tg_user_id=user.id, tg_chat_id=message.chat.id, first_name=user.first_name,
                                last_name=user.last_name, username=user.username, language=user.language_code)
        # The same message can come back in another update (webhook/polling switch): key on the message.
        delivery = Delivery("telegram", f"{message.chat.id}:{message.message_id}")
        command = message.text.split("@")[0].split(" ")[0] if message.text is not None else None
        if command == "/start":
            await self.service.handle(CustomerStarted(delivery, customer))
            return
        if command == "/stop":
            await self.service.handle(CustomerStopped(delivery, customer))
            return
        kind = message_kind(message)
        text, markup = _content(message, kind)
        await self.service.handle(CustomerMessage(
            delivery, customer, message.message_id, text, readable_html(message, kind) or markup, kind,
            file=customer_file(message, kind), media_group_id=message.media_group_id))

    async def _button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        choice = parse_choice(query.data)
        if choice is not None:
            await self._picked(update, *choice)
            return
        parsed = parse_rating(query.data)
        if parsed is not None:
            await self.service.handle(CustomerRated(Delivery("telegram", f"callback:{query.id}"), query.from_user.id,
                                                    *parsed))
        # Answered after the rating is committed: Telegram stops the button's spinner either way.
        try:
            await query.answer("Thank you!" if parsed else None)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    async def _picked(self, update: Update, conversation_id: int, position: int | None) -> None:
        """A press on one of the agent's choice buttons: the customer "says" the button's label (the entry's
        question, or the talk-to-a-person text, which hands off)."""
        query = update.callback_query
        assert query is not None
        question = query.message if isinstance(query.message, Message) else None
        rows = question.reply_markup.inline_keyboard if question and question.reply_markup else ()
        pressed = next((button.text for row in rows for button in row if button.callback_data == query.data), None)
        if question is not None and pressed is not None and question.chat.type == ChatType.PRIVATE:
            user = query.from_user
            customer = CustomerInfo(tg_user_id=user.id, tg_chat_id=question.chat.id, first_name=user.first_name,
                                    last_name=user.last_name, username=user.username, language=user.language_code)
            await self.service.handle(CustomerMessage(
                Delivery("telegram", f"callback:{query.id}"), customer, question.message_id, pressed,
                html.escape(pressed, quote=False), picked=True,
                escalate="the customer asked for a person instead of the agent's choices" if position is None
                else None))
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    async def _edited(self, message: Message) -> None:
        if message.chat.type != ChatType.PRIVATE or message.from_user is None or message.from_user.is_bot:
            return
        text, markup = _content(message, message_kind(message))
        edited_at = message.edit_date or message.date
        # Keyed on (chat, message, edit_date) so a re-delivered edit counts once; edit_date has whole
        # seconds, so the new text's digest keeps two different edits within one second apart.
        digest = hashlib.sha256(markup.encode()).hexdigest()[:16]
        delivery = Delivery("telegram", f"edit:{message.chat.id}:{message.message_id}:"
                                        f"{int(edited_at.timestamp())}:{digest}")
        await self.service.handle(CustomerEdited(delivery, message.from_user.id, message.message_id, text, markup,
                                                 edited_at))
