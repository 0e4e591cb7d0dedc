"""What operators do in Slack: reply in a conversation's thread, take it over, hand it back, resolve it.

Each is one event and one transaction, like every change (`Service.handle` routes them here): the
receipt, the new state, the audit row and the outbox rows for the thread and the customer.
"""

from __future__ import annotations

from bot.core import effects as fx
from bot.core import notes
from bot.core.access import Access
from bot.core.brief import handback_brief
from bot.core.events import (
    Action,
    Actor,
    Button,
    ConversationRef,
    Delivery,
    HandbackRequested,
    OperatorMessage,
    Outcome,
    ResolveRequested,
    TakeoverRequested,
)
from bot.core.media import encode_shared
from bot.core.ports import Clock, Observer
from bot.core.refs import refusal_text, resolve_ref
from bot.core.rows import apply_mode, row_id, state_of
from bot.core.settings import TextSettings
from bot.core.states import Kind, Refusal, decide
from bot.core.text import quote
from bot.core.transactions import Transactions, claim_delivery
from storage import audit, conversations, customers, messages
from storage.models import Message


class OperatorActions:
    def __init__(self, tx: Transactions, *, access: Access, clock: Clock, texts: TextSettings,
                 observer: Observer) -> None:
        self.tx = tx
        self.access = access
        self.clock = clock
        self.texts = texts
        self.observer = observer

    async def operator_message(self, event: OperatorMessage) -> Outcome:
        now = self.clock.now()
        actor = event.actor
        async with self.tx.transaction() as session:
            conv = await conversations.get_by_thread(session, event.slack_channel, event.slack_thread_ts, lock=True)
            if conv is None:
                # Not (yet) a conversation thread: no receipt, so a retry after the thread is recorded counts.
                return Outcome(unknown_thread=True)
            if not await claim_delivery(session, event.delivery):
                return Outcome(duplicate=True)
            operator = self.access.is_operator(actor.slack_user_id)
            decision = decide(state_of(conv), Kind.OPERATOR_MESSAGE, actor=actor.slack_user_id)
            # Stored once, as what it is: a reply to the customer, or an internal note.
            message = await messages.add(session, Message(
                conversation_id=row_id(conv), author="operator", is_note=not (operator and decision.refusal is None),
                author_slack_user_id=actor.slack_user_id, author_name=actor.name, text=event.text, html=event.html,
                slack_ts=event.slack_ts, created_at=now, kind="file" if event.files else "text",
                slack_files=encode_shared(event.files)))
            outcome = Outcome(conversation_id=conv.id, changed=True)
            if not operator:
                return outcome.tell("Only operators can reply to customers, so your message was not sent. "
                                    "It stays in the thread as an internal note.")
            if decision.refusal is None:
                conv.last_reply_at = conv.owner_active_at = now
                session.add(conv)
                customer = await customers.get(session, conv.customer_id)
                assert customer is not None
                await fx.apply(session, decision, conv, customer, message=message, texts=self.texts, now=now)
                return outcome
            if decision.refusal is Refusal.ALREADY_AGENT:
                value = f"{conv.id}:{event.slack_ts}"
                return outcome.tell(
                    "The agent is answering this conversation, so your reply was <b>not</b> sent to the customer. "
                    "It stays an internal note unless you take over.",
                    Button(Action.TAKEOVER_AND_SEND, "Take over and send", value, "primary"),
                    Button(Action.KEEP_AS_NOTE, "Keep as note", value))
            if decision.refusal is Refusal.OWNED_BY_OTHER:
                return outcome.tell(f"{quote(conv.owner_name or 'An operator')} has taken over this conversation, "
                                    "so your reply was not sent to the customer. It stays an internal note.")
            return outcome.tell("This conversation is resolved, so your reply was not sent. "
                                "It stays an internal note.")

    async def takeover(self, event: TakeoverRequested) -> Outcome:
        return await self._mode_change(Kind.TAKEOVER, event.ref, event.actor, event.source, event.send_note_ts,
                                       delivery=event.delivery)

    async def handback(self, event: HandbackRequested) -> Outcome:
        return await self._mode_change(Kind.HANDBACK, event.ref, event.actor, event.source, delivery=event.delivery)

    async def resolve(self, event: ResolveRequested) -> Outcome:
        return await self._mode_change(Kind.RESOLVE, event.ref, event.actor, event.source, delivery=event.delivery)

    async def _mode_change(self, kind: Kind, ref: ConversationRef, actor: Actor, source: str,
                           send_note_ts: str | None = None, *, delivery: Delivery | None = None) -> Outcome:
        if source != "timer" and not self.access.is_operator(actor.slack_user_id):
            return Outcome().tell("Only Baton operators can take over, hand back or resolve conversations. "
                                  "Ask an admin to add you.")
        now = self.clock.now()
        async with self.tx.transaction() as session:
            # A replayed button press or command is recognised by its receipt, stored with its effects.
            if delivery is not None and not await claim_delivery(session, delivery):
                return Outcome(duplicate=True)
            conv = await resolve_ref(session, ref)
            if conv is None:
                return Outcome().tell(f"No conversation matches {quote(ref.describe())}.")
            privileged = source == "timer" or self.access.is_admin(actor.slack_user_id)
            decision = decide(state_of(conv), kind, actor=actor.slack_user_id, privileged=privileged)
            if decision.refusal is not None:
                return Outcome(conversation_id=conv.id).tell(refusal_text(decision, conv, kind))
            apply_mode(conv, decision.state, actor.name, now)
            customer = await customers.get(session, conv.customer_id)
            assert customer is not None
            session.add(conv)
            audit.record(session, action=kind.value, source=source, conversation_id=conv.id,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name)
            await fx.apply(session, decision, conv, customer, texts=self.texts, now=now, actor=actor)
            if kind is Kind.HANDBACK:
                # What the agent is told about the human stretch is shown to the humans too.
                await session.flush()
                brief = await handback_brief(session, conv)
                if brief:
                    fx.note(session, conv, notes.Brief(brief), now=now)
            outcome = Outcome(conversation_id=conv.id, changed=True)
            if send_note_ts is not None:
                note = await messages.get_by_slack_ts(session, row_id(conv), send_note_ts)
                # Only the presser's own note: never someone else's words under their name.
                if note is not None and note.is_note and note.author_slack_user_id == actor.slack_user_id:
                    note.is_note = False
                    session.add(note)
                    fx.deliver_operator_message(session, customer, conv, note, now=now)
                else:
                    outcome.tell(f"You took over conversation #{conv.id}. That note is not yours, so it was not "
                                 "sent; reply in the thread to answer the customer.")
        self.observer.mode_changed(kind.value)  # after the commit: only changes that happened count
        return outcome
