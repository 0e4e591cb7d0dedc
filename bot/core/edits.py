"""Changing what was already said: customers' edits in Telegram, operators' edits and deletions in Slack.

Each event is one transaction like any other: receipt, the stored message revised (its earlier version
kept in the audit trail), and outbox rows for whatever must change on the other side.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core import notes
from bot.core.access import Access
from bot.core.events import Actor, CustomerEdited, Delivery, OperatorDeleted, OperatorEdited, Outcome
from bot.core.outbox_kinds import enqueue_fields
from bot.core.ports import Clock
from bot.core.states import Kind, Mode, Refusal, State, decide
from bot.core.text import quote
from bot.core.transactions import Transactions, claim_delivery
from storage import audit, conversations, customers, messages
from storage.models import Conversation, Customer, Message

log = logging.getLogger(__name__)

# Telegram lets a bot edit or delete its own messages for 48 hours.
TELEGRAM_WINDOW = timedelta(hours=48)
# A reply is dated when the operator wrote it, a moment before Telegram dated it; the margin keeps Baton
# from attempting a change Telegram is about to refuse. A refusal is handled anyway (see edit_results).
WINDOW_MARGIN = timedelta(minutes=5)


def within_telegram_window(sent_at: datetime, now: datetime) -> bool:
    return now - sent_at < TELEGRAM_WINDOW - WINDOW_MARGIN


class Edits:
    def __init__(self, db: Transactions, *, access: Access, clock: Clock) -> None:
        self.db = db
        self.access = access
        self.clock = clock

    # --- the customer (Telegram) ----------------------------------------------------------------

    async def customer_edited(self, event: CustomerEdited) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            customer = await customers.get_by_tg_user_id(session, event.tg_user_id)
            message = (await messages.get_from_customer(session, _id(customer), event.tg_message_id)
                       if customer is not None else None)
            if message is None:
                # An edited /start, or a message from before Baton knew this customer: nothing mirrors it.
                # No receipt: should the message itself arrive later (webhooks run in parallel), a
                # re-delivered edit still counts.
                log.info("customer %s edited message %s, which Baton never stored", event.tg_user_id,
                         event.tg_message_id)
                return Outcome()
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            if message.edited_at is not None and event.edited_at < message.edited_at:
                return Outcome(conversation_id=message.conversation_id)  # an older version arriving late
            if event.html == message.html:
                # Telegram also reports edits of fields Baton does not show; the text is what matters.
                return Outcome(conversation_id=message.conversation_id)
            conv = await conversations.get(session, message.conversation_id)
            assert conv is not None
            _revise(session, message, event.text, event.html, at=event.edited_at, actor=None, source="telegram")
            # Queued behind the mirror in the thread's lane: a mirror not yet posted reads the new text
            # anyway, and this row then marks it edited.
            fx.slack(session, conv, fx.EDIT_MIRROR, now=now, message_id=message.id)
        # The agent is deliberately not asked again: it answered the question as first written.
        return Outcome(conversation_id=conv.id, changed=True)

    # --- operators (Slack) ----------------------------------------------------------------------

    async def operator_edited(self, event: OperatorEdited) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            found = await self._operator_message(session, event.delivery, event.slack_channel,
                                                 event.slack_thread_ts, event.slack_ts)
            if isinstance(found, Outcome):
                return found
            conv, message = found
            at = event.edited_at or now
            if event.html == message.html or (message.edited_at is not None and at < message.edited_at):
                return Outcome(conversation_id=conv.id)  # nothing new, or overtaken by a later edit
            was_html = message.html
            _revise(session, message, event.text, event.html, at=at, actor=event.actor, source="slack")
            outcome = Outcome(conversation_id=conv.id, changed=True)
            if message.is_note:
                return outcome  # a note never left Slack: the stored copy is all there is to change
            refusal = self._may_not_reply(conv, event.actor)
            if refusal is not None:
                return outcome.tell(f"Your edit was <b>not</b> sent to the customer: {quote(refusal)}. "
                                    "They still see the earlier version.")
            customer = await customers.get(session, conv.customer_id)
            assert customer is not None
            if message.tg_message_id is not None and not within_telegram_window(message.created_at, now):
                _to_customer(session, fx.CORRECTION, customer, conv, message, now=now, html=message.html,
                             why="Telegram allows edits for 48 hours")
            else:
                # Also when the reply is still on its way: this row waits behind it in the customer's lane.
                _to_customer(session, fx.EDIT, customer, conv, message, now=now, html=message.html,
                             previous_html=was_html)
        return outcome

    async def operator_deleted(self, event: OperatorDeleted) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            found = await self._operator_message(session, event.delivery, event.slack_channel,
                                                 event.slack_thread_ts, event.slack_ts)
            if isinstance(found, Outcome):
                return found
            conv, message = found
            message.deleted_at = now
            session.add(message)
            audit.record(session, action="message_deleted", source="slack", conversation_id=conv.id,
                         actor_slack_user_id=event.actor.slack_user_id, actor_name=event.actor.name,
                         detail=_detail(message))
            outcome = Outcome(conversation_id=conv.id, changed=True)
            if message.is_note:
                return outcome
            who = message.author_name or event.actor.name
            refusal = self._may_not_reply(conv, event.actor)
            if refusal is not None:
                # The reply has vanished from the thread, so the thread is where to say the customer has it.
                fx.note(session, conv, notes.NotDeleted(who, refusal), now=now)
                return outcome
            if message.tg_message_id is not None and not within_telegram_window(message.created_at, now):
                fx.note(session, conv, notes.NotDeleted(who, "Telegram lets bots delete messages only for 48 hours"),
                        now=now)
                return outcome
            customer = await customers.get(session, conv.customer_id)
            assert customer is not None
            # A reply not sent yet is dropped by the deliverer (deleted_at); one in flight is deleted after.
            _to_customer(session, fx.DELETE, customer, conv, message, now=now)
        return outcome

    async def _operator_message(self, session: AsyncSession, delivery: Delivery, channel: str, thread_ts: str,
                                slack_ts: str) -> tuple[Conversation, Message] | Outcome:
        """The stored operator message behind a thread event, or the Outcome that ends the event."""
        conv = await conversations.get_by_thread(session, channel, thread_ts)
        if conv is None:
            return Outcome(unknown_thread=True)
        message = await messages.get_by_slack_ts(session, _id(conv), slack_ts)
        if message is None:
            # Slack events are handled concurrently: the message itself may not be recorded yet. No receipt,
            # so the caller's retry counts.
            return Outcome(conversation_id=conv.id, unknown_thread=True)
        if message.author != "operator" or message.deleted_at is not None:
            return Outcome(conversation_id=conv.id)  # not an operator's message, or already deleted
        if not await claim_delivery(session, delivery):
            return Outcome(duplicate=True)
        return conv, message

    def _may_not_reply(self, conv: Conversation, actor: Actor) -> str | None:
        """Why this person may not change what the customer sees (the rules for replies), or None."""
        if not self.access.is_operator(actor.slack_user_id):
            return "only operators can write to customers"
        state = State(Mode(conv.mode), conv.owner_slack_user_id, conv.needs_human)
        refusal = decide(state, Kind.OPERATOR_MESSAGE, actor=actor.slack_user_id).refusal
        if refusal is None:
            return None
        if refusal is Refusal.OWNED_BY_OTHER:
            return f"{conv.owner_name} has taken over this conversation"
        if refusal is Refusal.ALREADY_AGENT:
            return "the agent is answering this conversation (take over first)"
        return "the conversation is resolved"


def _revise(session: AsyncSession, message: Message, text: str, html: str, *, at: datetime, actor: Actor | None,
            source: str) -> None:
    audit.record(session, action="message_edited", source=source, conversation_id=message.conversation_id,
                 actor_slack_user_id=actor.slack_user_id if actor else None, actor_name=actor.name if actor else None,
                 detail=_detail(message))
    message.text, message.html, message.edited_at = text, html, at
    session.add(message)


def _detail(message: Message) -> str:
    """The version being replaced or deleted, for the audit trail."""
    return json.dumps({"message_id": message.id, "author": message.author, "text": message.text,
                       "html": message.html}, ensure_ascii=False)


def _to_customer(session: AsyncSession, kind: str, customer: Customer, conv: Conversation, message: Message, *,
                 now: datetime, **payload: str) -> None:
    enqueue_fields(session, kind, lane=fx.customer_lane(customer), conversation_id=conv.id, message_id=message.id,
                   now=now, **payload)


def _id(row: Customer | Conversation | Message) -> int:
    assert row.id is not None
    return row.id
