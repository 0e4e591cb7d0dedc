"""Timer firings as core events: a customer kept waiting for a human, an owner who has gone silent.

The sweep (bot/core/timers.py) only reads which deadlines have passed; each firing is an event handled here
in its own transaction, which looks again under the conversation's lock, so a second sweep or a second
instance that fires the same deadline changes nothing more. Hand-backs and resolves by a timer are the
ordinary HandbackRequested and ResolveRequested events.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core import effects as fx
from bot.core import notes
from bot.core.events import CustomerWaitDue, Outcome, OwnerSilenceDue
from bot.core.ports import Clock
from bot.core.transactions import Transactions
from storage import conversations
from storage.models import Conversation

log = logging.getLogger(__name__)


def owner_warned(conv: Conversation) -> bool:
    """The owner was warned about this silence (a reply since starts a new one)."""
    return (conv.idle_warned_at is not None and conv.owner_active_at is not None
            and conv.idle_warned_at >= conv.owner_active_at)


class Deadlines:
    def __init__(self, db: Transactions, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def customer_waiting(self, event: CustomerWaitDue) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            await conversations.get(session, event.conversation_id, lock=True)
            due = await conversations.due_waiting_alert(session, now - timedelta(minutes=event.waiting_minutes),
                                                        conversation_id=event.conversation_id)
            if not due:
                return Outcome(conversation_id=event.conversation_id)  # answered meanwhile, or alerted already
            conv = due[0]
            assert conv.last_customer_message_at is not None
            waited = int((now - conv.last_customer_message_at).total_seconds() // 60)
            owner = conv.owner_name if conv.mode == "human" else None
            who = f"{owner}'s" if owner is not None else "a human's"
            reason = f"the customer has waited {waited} minutes for {who} reply"
            conv.wait_alerted_at = now
            session.add(conv)
            await fx.raise_alert(session, conv, reason, now=now)
            fx.note(session, conv, notes.CustomerWaiting(waited, owner), now=now)
            log.info("conversation %s: %s", conv.id, reason)
        return Outcome(conversation_id=conv.id, changed=True)

    async def owner_silent(self, event: OwnerSilenceDue) -> Outcome:
        """Warn the owner that the conversation goes back to the agent `warning_minutes` from now."""
        now = self.clock.now()
        idle = event.idle_minutes
        warning = min(event.warning_minutes, idle)
        async with self.db.transaction() as session:
            conv = await conversations.get(session, event.conversation_id, lock=True)
            if (conv is None or conv.mode != "human" or conv.owner_active_at is None or not warning
                    or conv.owner_active_at > now - timedelta(minutes=idle - warning) or owner_warned(conv)):
                return Outcome(conversation_id=event.conversation_id)  # replied meanwhile, or warned already
            conv.idle_warned_at = now
            session.add(conv)
            fx.note(session, conv, notes.OwnerSilent(conv.owner_slack_user_id, float(idle - warning),
                                                     float(warning)), now=now)
        return Outcome(conversation_id=conv.id, changed=True)
