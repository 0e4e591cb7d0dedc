"""The conversation service: one event in, one transaction (receipt, state, message, audit, outbox) out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import choices, csat, handlers, notes
from bot.core import effects as fx
from bot.core.access import Access
from bot.core.campaigns import CampaignHandlers, attribute_reply
from bot.core.edits import Edits
from bot.core.events import (
    AgentReplied,
    CustomerBlockedBot,
    CustomerEdited,
    CustomerMessage,
    CustomerRated,
    CustomerStarted,
    CustomerStopped,
    Event,
    HandbackRequested,
    OperatorDeleted,
    OperatorEdited,
    OperatorMessage,
    Outcome,
    ResolveRequested,
    TakeoverRequested,
)
from bot.core.group_commit import GroupCommit
from bot.core.markup import html_to_plain
from bot.core.operator_actions import OperatorActions
from bot.core.ports import Clock, Observer
from bot.core.rows import customer_row as _customer_row
from bot.core.rows import mark_needs_human as _needs_human
from bot.core.rows import row_id as _id
from bot.core.rows import state_of as _state
from bot.core.rules import escalation_reason
from bot.core.settings import EscalationSettings, TextSettings
from bot.core.states import Effect, Kind, Mode, decide
from bot.core.transactions import Transactions, claim_delivery
from storage import conversations, customers, messages, staff
from storage.db import Database
from storage.models import Conversation, Customer, Message

log = logging.getLogger(__name__)
# Events whose handlers may share a transaction with others of their kind (see Service.handle).
GROUPED = (CustomerMessage,)


class Service:
    def __init__(self, db: Database, *, texts: TextSettings, access: Access, clock: Clock | None = None,
                 wake: Callable[[], None] = lambda: None, escalation: EscalationSettings | None = None,
                 campaign_reply_days: float = 3, campaign_progress_seconds: float = 3.0,
                 wake_campaigns: Callable[[], None] = lambda: None, observer: Observer | None = None) -> None:
        self.db = db
        # Every handler takes its transaction from here: its own under handle(), the caller's under handle_in().
        self.tx = Transactions(db)
        self.campaign_reply_days = campaign_reply_days
        self.observer = observer or Observer()
        self.texts = texts
        self.escalation = escalation or EscalationSettings()
        self.access = access
        self.clock = clock or Clock()
        # Called after every commit that wrote outbox rows, so dispatchers start at once.
        self.wake = wake
        self.wake_campaigns = wake_campaigns
        self.edits = Edits(self.tx, access=access, clock=self.clock)
        self.operators = OperatorActions(self.tx, access=access, clock=self.clock, texts=texts,
                                         observer=self.observer)
        self.campaigns = CampaignHandlers(self.tx, clock=self.clock, progress_seconds=campaign_progress_seconds,
                                          wake_sender=lambda: self.wake_campaigns())
        self._handlers = self._table()
        # Customers' messages that arrive together (the Telegram poller hands different chats' updates over
        # side by side) share one transaction (bot/core/group_commit.py); alone, an event keeps handle's retry.
        self._group: GroupCommit[Event, Outcome] = GroupCommit(db, "service-group-commit", self._joined,
                                                               alone=self._alone, committed=self._woken)

    async def handle(self, event: Event) -> Outcome:
        """The one entry point: the event's handler in a transaction of its own (or one it shares with others
        that arrived together), then the wake-ups."""
        if isinstance(event, GROUPED):
            return await self._group.submit(event)
        return await self._alone(event)

    async def _alone(self, event: Event) -> Outcome:
        handler = self._handlers[type(event)]
        try:
            outcome = await handler(event)
        except IntegrityError:
            # Another instance committed a row this transaction also inserted: the same delivery (then the
            # second try finds its receipt and says duplicate) or the same new customer (then it finds them).
            if getattr(event, "delivery", None) is None:
                raise
            log.info("concurrent insert while handling %s; trying once more", type(event).__name__)
            outcome = await handler(event)
        self._woken(event, outcome)
        return outcome

    async def _joined(self, session: AsyncSession, event: Event) -> Outcome:
        """One event in a transaction someone else commits: a group's (GroupCommit) or the dispatcher's."""
        with self.tx.joining(session):
            return await self._handlers[type(event)](event)

    async def handle_in(self, session: AsyncSession, event: Event) -> Outcome:
        """`handle` inside the caller's transaction, which commits it (the dispatcher settles a delivery and
        claims the lane's next row in one). The same handler, so still one code path; the caller's commit
        announces the outbox rows it wrote (Database.on_enqueued)."""
        outcome = await self._joined(session, event)
        self._woken(event, outcome)
        return outcome

    def _woken(self, event: Event, outcome: Outcome) -> None:
        if outcome.changed:
            self.wake()
            if isinstance(event, handlers.WAKE_CAMPAIGNS):
                self.wake_campaigns()  # the sender looks at the new (or no longer active) campaign

    def _table(self) -> dict[type, Callable[[Any], Awaitable[Outcome]]]:
        return {
            CustomerStarted: self._customer_started,
            CustomerStopped: self._customer_stopped,
            CustomerMessage: self._customer_message,
            CustomerBlockedBot: self._customer_blocked_bot,
            CustomerRated: self._customer_rated,
            OperatorMessage: self.operators.operator_message,
            TakeoverRequested: self.operators.takeover,
            HandbackRequested: self.operators.handback,
            ResolveRequested: self.operators.resolve,
            AgentReplied: self._agent_replied,
            CustomerEdited: self.edits.customer_edited,
            OperatorEdited: self.edits.operator_edited,
            OperatorDeleted: self.edits.operator_deleted,
            **handlers.beside_conversations(self.tx, self.access, self.clock, self.campaigns),
        }

    # --- customers (Telegram) -------------------------------------------------------------------

    async def _upsert_customer(self, session: AsyncSession,
                               event: CustomerStarted | CustomerStopped | CustomerMessage) -> Customer:
        c = event.customer
        return await customers.upsert_from_telegram(
            session, tg_user_id=c.tg_user_id, tg_chat_id=c.tg_chat_id, first_name=c.first_name,
            last_name=c.last_name, username=c.username, language=c.language)

    async def _customer_started(self, event: CustomerStarted) -> Outcome:
        async with self.tx.transaction() as session:
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            customer = await self._upsert_customer(session, event)
            customer.opted_out = False  # /start opts back in to campaigns
            session.add(customer)
            greeting = fx.customer_text(self.texts, "greeting", customer)
            fx.notice_customer(session, customer, None, greeting, now=self.clock.now())
        return Outcome(changed=True)

    async def _customer_stopped(self, event: CustomerStopped) -> Outcome:
        async with self.tx.transaction() as session:
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            customer = await self._upsert_customer(session, event)
            customer.opted_out = True
            session.add(customer)
            fx.notice_customer(session, customer, None, fx.customer_text(self.texts, "opted_out", customer),
                               now=self.clock.now())
        return Outcome(changed=True)

    async def _customer_message(self, event: CustomerMessage) -> Outcome:
        now = self.clock.now()
        async with self.tx.transaction() as session:
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            customer = await self._upsert_customer(session, event)
            if customer.blocked:
                # Blocked by an admin: kept for the record, but nothing is sent, asked or mirrored.
                await self._store_silently(session, customer, event, now)
                return Outcome()
            conv = await conversations.get_open_for_customer(session, _id(customer), lock=True)
            if conv is None and event.kind == "text" and (rated := await csat.awaiting_comment(session, customer, now)):
                # Just rated: this message is the rating's comment, not the start of a new conversation.
                message = await messages.add(session, _customer_row(rated, event, now))
                csat.keep_comment(session, rated, message, now=now)
                return Outcome(conversation_id=rated.id, changed=True)
            state = _state(conv)
            reason = None
            if state.mode is not Mode.HUMAN and not state.needs_human and await staff.agent_paused(session):
                # An admin paused the agent (an outage): every new message goes to the humans, as /human would.
                reason = "the agent is paused"
            elif state.mode is not Mode.HUMAN and not state.needs_human:
                earlier = [text for author, text in await messages.recent_texts(session, _id(conv), limit=10)
                           if author == "customer"] if conv is not None else []
                reason = event.escalate or escalation_reason(event.text, earlier, self.escalation)
            decision = decide(state, Kind.CUSTOMER_MESSAGE, escalate=reason is not None)
            if conv is None:
                previous = await conversations.get_latest_for_customer(session, _id(customer))
                conv = Conversation(customer_id=_id(customer), mode=Mode.AGENT.value, mode_since=now,
                                    opened_at=now, previous_conversation_id=previous.id if previous else None,
                                    last_customer_message_at=now)
                session.add(conv)
            else:
                await conversations.stamp(session, conv, "last_customer_message_at", now)
            if reason is not None:
                _needs_human(conv, reason, now)
            await session.flush()
            if (await attribute_reply(session, conv, customer, now=now, window_days=self.campaign_reply_days)
                    and Effect.OPEN_THREAD not in decision.effects):
                fx.slack(session, conv, fx.UPDATE_CARD, now=now)  # the card now says which campaign it answers
            message = await messages.add(session, _customer_row(conv, event, now))
            await fx.apply(session, decision, conv, customer, message=message, texts=self.texts, now=now,
                           reason=reason)
            if event.picked:
                fx.note(session, conv, notes.ChoicePicked(), now=now)
        return Outcome(conversation_id=conv.id, changed=True)

    async def _store_silently(self, session: AsyncSession, customer: Customer, event: CustomerMessage,
                              now: datetime) -> None:
        """A blocked customer's message: stored in their latest conversation, or in a closed record of its own so
        that no thread, agent or alert is ever started for it."""
        conv = (await conversations.get_open_for_customer(session, _id(customer))
                or await conversations.get_latest_for_customer(session, _id(customer)))
        if conv is None:
            conv = Conversation(customer_id=_id(customer), mode=Mode.CLOSED.value, mode_since=now, opened_at=now,
                                closed_at=now)
            session.add(conv)
            await session.flush()
        session.add(_customer_row(conv, event, now))

    async def _customer_rated(self, event: CustomerRated) -> Outcome:
        async with self.tx.transaction() as session:
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            customer = await customers.get_by_tg_user_id(session, event.tg_user_id)
            if customer is None:
                return Outcome()
            conv = await csat.rate(session, customer, event.conversation_id, event.rating, texts=self.texts,
                                   now=self.clock.now())
        return Outcome(conversation_id=conv.id, changed=True) if conv else Outcome()

    async def _customer_blocked_bot(self, event: CustomerBlockedBot) -> Outcome:
        async with self.tx.transaction() as session:
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            customer = await customers.get_by_tg_user_id(session, event.tg_user_id)
            if customer is None or customer.unreachable == event.blocked:
                return Outcome()
            customer.unreachable = event.blocked
            session.add(customer)
            conv = await conversations.get_open_for_customer(session, _id(customer))
            if conv is not None:
                name = customer.display_name
                fx.note(session, conv, notes.BlockedTheBot(name) if event.blocked else notes.UnblockedTheBot(name),
                        now=self.clock.now())
        return Outcome(conversation_id=conv.id if conv else None, changed=True)

    # --- the agent ------------------------------------------------------------------------------

    async def _agent_replied(self, event: AgentReplied) -> Outcome:
        reply = event.reply
        now = self.clock.now()
        async with self.tx.transaction() as session:
            found = await conversations.get_with_customer(session, event.conversation_id)
            if found is None:
                return Outcome()
            conv, customer = found
            decision = decide(_state(conv), Kind.AGENT_REPLIED, handoff=reply.handoff_reason is not None)
            if decision.refusal is not None:
                log.info("conversation %s: agent reply dropped, mode is %s", conv.id, conv.mode)
                return Outcome(conversation_id=conv.id)
            if reply.choices and reply.handoff_reason is None:
                await choices.agent_asks(session, conv, customer, reply, decision, texts=self.texts, now=now)
                return Outcome(conversation_id=conv.id, changed=True)
            message = None
            if reply.text:
                message = await messages.add(session, Message(
                    conversation_id=_id(conv), author="agent", text=html_to_plain(reply.text), html=reply.text,
                    created_at=now))
            if reply.handoff_reason:
                _needs_human(conv, reply.handoff_reason, now)
            if message is not None:
                await conversations.stamp(session, conv, "last_reply_at", now)
            session.add(conv)
            await fx.apply(session, decision, conv, customer, message=message, texts=self.texts, now=now,
                     reason=reply.handoff_reason)
            if reply.context and message is not None and reply.handoff_reason is None:
                # Under the answer's mirror in the thread: where the answer came from and how sure it was.
                fx.note(session, conv, notes.AgentContext(reply.context), now=now)
        return Outcome(conversation_id=conv.id, changed=True)
