"""Turning a decision's effects into outbox rows, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import notes
from bot.core.events import Actor
from bot.core.notes import ThreadNote
from bot.core.outbox_kinds import AGENT as AGENT
from bot.core.outbox_kinds import ALERT as ALERT
from bot.core.outbox_kinds import ASK as ASK
from bot.core.outbox_kinds import CHOICES as CHOICES
from bot.core.outbox_kinds import CORRECTION as CORRECTION
from bot.core.outbox_kinds import DELETE as DELETE
from bot.core.outbox_kinds import DELIVER as DELIVER
from bot.core.outbox_kinds import DELIVER_AGENT as DELIVER_AGENT
from bot.core.outbox_kinds import EDIT as EDIT
from bot.core.outbox_kinds import EDIT_MIRROR as EDIT_MIRROR
from bot.core.outbox_kinds import MIRROR as MIRROR
from bot.core.outbox_kinds import NOTE as NOTE
from bot.core.outbox_kinds import NOTICE as NOTICE
from bot.core.outbox_kinds import OPEN_THREAD as OPEN_THREAD
from bot.core.outbox_kinds import RATING as RATING
from bot.core.outbox_kinds import REACT as REACT
from bot.core.outbox_kinds import SLACK as SLACK
from bot.core.outbox_kinds import TELEGRAM as TELEGRAM
from bot.core.outbox_kinds import UPDATE_ALERT as UPDATE_ALERT
from bot.core.outbox_kinds import UPDATE_CARD as UPDATE_CARD
from bot.core.outbox_kinds import AlertRef, Bare, Choices, Chunked, Notice, Rating, enqueue, enqueue_fields
from bot.core.settings import TextSettings
from bot.core.states import Decision, Effect
from storage import alerts, outbox
from storage.models import Conversation, Customer, Message

# The outbox kinds (and their payload types) are registered in bot/core/outbox_kinds.py; they are named
# here too, where most of them are written.

ALBUM_SETTLE_SECONDS = 1.0


def customer_lane(customer: Customer) -> str:
    return f"customer:{customer.id}"


def thread_lane(conversation_id: int | None) -> str:
    return f"conversation:{conversation_id}"


def render(template: str, **values: Any) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A typo in a configured text must not silence the customer; send it as written.
        return template


def customer_text(texts: TextSettings, name: str, customer: Customer, **values: Any) -> str:
    """A configured text in the customer's language, with {first_name} and the given values filled in."""
    return render(texts.get(name, customer.language), first_name=customer.first_name, **values)


def operator_display(texts: TextSettings, actor: Actor) -> str | None:
    if texts.show_operator_name == "none":
        return None
    return actor.name.split()[0] if texts.show_operator_name == "first" and actor.name.strip() else actor.name


def notice_customer(session: AsyncSession, customer: Customer, conversation_id: int | None, text: str,
                    *, now: datetime) -> None:
    enqueue(session, NOTICE, Notice(text), lane=customer_lane(customer), conversation_id=conversation_id, now=now)


def slack(session: AsyncSession, conv: Conversation, kind: str, *, now: datetime,
          message_id: int | None = None, **payload: Any) -> None:
    """A row in the conversation's thread lane; `payload`: the fields of the kind's payload type."""
    enqueue_fields(session, kind, lane=thread_lane(conv.id), conversation_id=conv.id, message_id=message_id,
                   now=now, **payload)


def note(session: AsyncSession, conv: Conversation, note: ThreadNote, *, now: datetime) -> None:
    """A line in the conversation's thread, worded by the Slack adapter."""
    enqueue(session, NOTE, notes.encode(note), lane=thread_lane(conv.id), conversation_id=conv.id, now=now)


def deliver_operator_message(session: AsyncSession, customer: Customer, conv: Conversation, message: Message,
                             *, now: datetime) -> None:
    enqueue(session, DELIVER, Chunked(), lane=customer_lane(customer), conversation_id=conv.id,
            message_id=message.id, now=now)


async def apply(session: AsyncSession, decision: Decision, conv: Conversation, customer: Customer, *,
          texts: TextSettings, now: datetime, message: Message | None = None, actor: Actor | None = None,
          reason: str | None = None) -> None:
    for effect in decision.effects:
        await _apply_one(session, effect, conv, customer, texts=texts, now=now, message=message, actor=actor,
                   reason=reason)


async def _apply_one(session: AsyncSession, effect: Effect, conv: Conversation, customer: Customer, *,
               texts: TextSettings, now: datetime, message: Message | None, actor: Actor | None,
               reason: str | None) -> None:
    E = Effect
    msg_id = message.id if message is not None else None
    who = actor.name if actor else "someone"
    if effect is E.OPEN_THREAD:
        slack(session, conv, OPEN_THREAD, now=now)
    elif effect in (E.MIRROR_CUSTOMER, E.MIRROR_AGENT):
        if msg_id is not None:
            slack(session, conv, MIRROR, now=now, message_id=msg_id)
    elif effect is E.ASK_AGENT:
        # An album comes as separate messages with no end marker. Asking a moment later lets the later
        # items supersede this ask: the agent answers once, and not in the middle of the album's mirror.
        due = now + timedelta(seconds=ALBUM_SETTLE_SECONDS) if message and message.media_group_id else now
        enqueue(session, ASK, Bare(), lane=thread_lane(conv.id), conversation_id=conv.id, message_id=msg_id,
                now=due)
    elif effect is E.DELIVER_AGENT:
        if msg_id is not None:
            enqueue(session, DELIVER_AGENT, Chunked(), lane=customer_lane(customer), conversation_id=conv.id,
                    message_id=msg_id, now=now)
    elif effect is E.DELIVER_OPERATOR:
        if message is not None:
            deliver_operator_message(session, customer, conv, message, now=now)
    elif effect is E.NOTIFY_OPERATOR_JOINED:
        name = operator_display(texts, actor) if actor else None
        text = (customer_text(texts, "operator_joined", customer, operator=name) if name
                else customer_text(texts, "operator_joined_anonymous", customer))
        notice_customer(session, customer, conv.id, text, now=now)
    elif effect is E.NOTIFY_BACK_TO_AGENT:
        notice_customer(session, customer, conv.id, customer_text(texts, "back_to_agent", customer), now=now)
    elif effect is E.NOTIFY_RESOLVED:
        notice_customer(session, customer, conv.id, customer_text(texts, "resolved", customer), now=now)
    elif effect is E.ASK_RATING:
        enqueue(session, RATING, Rating(customer_text(texts, "rating_question", customer)),
                lane=customer_lane(customer), conversation_id=conv.id, now=now)
    elif effect is E.UPDATE_CARD:
        slack(session, conv, UPDATE_CARD, now=now)
    elif effect is E.NOTE_TAKEN_OVER:
        note(session, conv, notes.TakenOver(who), now=now)
    elif effect is E.NOTE_HANDED_BACK:
        note(session, conv, notes.HandedBack(who), now=now)
    elif effect is E.NOTE_RESOLVED:
        note(session, conv, notes.Resolved(who), now=now)
    elif effect is E.NOTE_NEEDS_HUMAN:
        note(session, conv, notes.NeedsHuman(reason), now=now)
    elif effect is E.NOTIFY_WAITING:
        notice_customer(session, customer, conv.id, customer_text(texts, "waiting_for_human", customer), now=now)
    elif effect is E.RAISE_ALERT:
        await raise_alert(session, conv, reason or "the agent asked for a human", now=now)
    elif effect is E.CLOSE_ALERTS:
        # The conversation already carries the mode the decision reached.
        await close_alerts(session, conv, _alert_outcome(conv, who), now=now)
    elif effect is E.CANCEL_AGENT:
        # Rows already being delivered are caught by the deliverer's own mode check right before sending.
        await outbox.cancel_pending(session, destination=AGENT, conversation_id=_id(conv), kinds=[ASK])
        await outbox.cancel_pending(session, destination=TELEGRAM, conversation_id=_id(conv),
                                    kinds=[DELIVER_AGENT, CHOICES])


def offer_choices(session: AsyncSession, customer: Customer, conv: Conversation, message: Message,
                  choices: list[str], person: str, *, now: datetime) -> None:
    """The agent's question (`message`) goes to the customer with a button per choice and one for a person."""
    enqueue(session, CHOICES, Choices(tuple(choices), person), lane=customer_lane(customer),
            conversation_id=_id(conv), message_id=message.id, now=now)


async def raise_alert(session: AsyncSession, conv: Conversation, reason: str, *, now: datetime) -> None:
    alert = await alerts.create(session, _id(conv), reason, now)
    assert alert.id is not None
    enqueue(session, ALERT, AlertRef(alert.id), lane=thread_lane(conv.id), conversation_id=conv.id, now=now)


async def close_alerts(session: AsyncSession, conv: Conversation, outcome: str, *, now: datetime) -> None:
    for alert in await alerts.find_open(session, _id(conv)):
        alert.closed_at = now
        alert.outcome = outcome
        session.add(alert)
        assert alert.id is not None
        enqueue(session, UPDATE_ALERT, AlertRef(alert.id), lane=thread_lane(conv.id), conversation_id=conv.id,
                now=now)


def _alert_outcome(conv: Conversation, who: str) -> str:
    if conv.mode == "human":
        return f"{who} took over"
    if conv.mode == "closed":
        return f"resolved by {who}"
    return f"handed back to the agent by {who}"


def _id(conv: Conversation) -> int:
    assert conv.id is not None
    return conv.id
