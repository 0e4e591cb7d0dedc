"""CSAT: the customer's 1–5 rating after resolve, and an optional comment written right after rating.

Kept apart from service.py so the conversation loop stays readable; both run inside the service's
transactions and write outbox rows like every other change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core import notes
from bot.core.settings import TextSettings
from storage import conversations
from storage.models import Conversation, Customer, Message

# The next text message within this window after rating is the rating's comment, not a new conversation.
COMMENT_WINDOW = timedelta(minutes=5)


async def rate(session: AsyncSession, customer: Customer, conversation_id: int, rating: int, *,
               texts: TextSettings, now: datetime) -> Conversation | None:
    """Record a rating; None if the conversation is not this customer's resolved one (a stale button)."""
    conv = await conversations.get(session, conversation_id, lock=True)
    if conv is None or conv.customer_id != customer.id or conv.mode != "closed" or not 1 <= rating <= 5:
        return None
    first = conv.csat_rating is None
    conv.csat_rating, conv.csat_at = rating, now
    session.add(conv)
    fx.slack(session, conv, fx.UPDATE_CARD, now=now)
    fx.note(session, conv, notes.Rated(rating), now=now)
    if first:  # pressing again changes the rating without a second "thank you"
        fx.notice_customer(session, customer, conv.id, fx.customer_text(texts, "rating_thanks", customer), now=now)
    return conv


async def awaiting_comment(session: AsyncSession, customer: Customer, now: datetime) -> Conversation | None:
    """The customer's just-rated conversation, if their next message is to be kept as its comment."""
    assert customer.id is not None
    latest = await conversations.get_latest_for_customer(session, customer.id)
    if (latest is None or latest.mode != "closed" or latest.csat_at is None or latest.csat_comment is not None
            or now - _aware(latest.csat_at) > COMMENT_WINDOW):
        return None
    return latest


def keep_comment(session: AsyncSession, conv: Conversation, message: Message, *, now: datetime) -> None:
    conv.csat_comment = message.text
    session.add(conv)
    fx.slack(session, conv, fx.UPDATE_CARD, now=now)
    fx.slack(session, conv, fx.MIRROR, now=now, message_id=message.id)


def _aware(when: datetime) -> datetime:
    # Some drivers hand back naive datetimes; everything Baton stores is UTC.
    return when if when.tzinfo else when.replace(tzinfo=UTC)
