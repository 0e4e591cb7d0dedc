"""Timers as sweeps over stored state: waiting customers, silent owners, stale conversations.

Nothing is scheduled per conversation: each sweep reads which rows' deadlines have passed and fires each as
a core event through Service.handle (CustomerWaitDue, OwnerSilenceDue, or the timer's HandbackRequested and
ResolveRequested). Each handler looks again under the conversation's lock and records that it acted
(wait_alerted_at, idle_warned_at, the mode change itself) in its transaction, so a restart loses no timer,
and a second sweep, or a second instance, does not act twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.deadlines import owner_warned
from bot.core.events import (
    Actor,
    ConversationRef,
    CustomerWaitDue,
    HandbackRequested,
    OwnerSilenceDue,
    ResolveRequested,
)
from bot.core.service import Service
from bot.core.settings import EscalationSettings, TimerSettings
from storage import conversations

log = logging.getLogger(__name__)

TIMER = Actor("baton-timer", "Baton")


class Timers:
    def __init__(self, service: Service, timers: TimerSettings, escalation: EscalationSettings) -> None:
        self.service = service
        self.settings = timers
        self.escalation = escalation

    async def sweep(self) -> None:
        for step in (self._waiting_customers, self._silent_owners, self._stale_conversations):
            try:
                await step()
            except Exception:
                log.exception("timer sweep %s failed; the next sweep tries again", step.__name__)

    async def _waiting_customers(self) -> None:
        minutes = self.escalation.waiting_minutes
        if not minutes:
            return
        cutoff = self.service.clock.now() - timedelta(minutes=minutes)
        async with self.service.db.transaction() as session:
            due = [c.id for c in await conversations.due_waiting_alert(session, cutoff) if c.id is not None]
        for conversation_id in due:
            await self.service.handle(CustomerWaitDue(conversation_id, minutes))

    async def _silent_owners(self) -> None:
        """The owner is warned first, then the conversation goes back to the agent `warning` minutes later.
        A late sweep (a restart, a new leader after a failover) still warns before handing back, so the
        owner is never surprised; a reply starts a new silence, which is warned about again."""
        idle = self.settings.takeover_idle_minutes
        if not idle:
            return
        now = self.service.clock.now()
        warning = min(self.settings.takeover_idle_warning_minutes, idle)
        async with self.service.db.transaction() as session:
            silent = await conversations.due_idle_owner(session, now - timedelta(minutes=idle - warning),
                                                        unwarned_only=False)
        for conv in silent:
            assert conv.id is not None and conv.owner_active_at is not None
            if warning and not owner_warned(conv):
                await self.service.handle(OwnerSilenceDue(conv.id, idle, warning))
            elif conv.owner_active_at <= now - timedelta(minutes=idle) and (
                    not warning or (conv.idle_warned_at is not None
                                    and conv.idle_warned_at <= now - timedelta(minutes=warning))):
                log.info("conversation %s: owner silent for %s minutes, handing back", conv.id, idle)
                await self.service.handle(HandbackRequested(ConversationRef(conversation_id=conv.id), TIMER,
                                                            "timer"))

    async def _stale_conversations(self) -> None:
        hours = self.settings.close_after_hours
        if not hours:
            return
        cutoff = self.service.clock.now() - timedelta(hours=hours)
        async with self.service.db.transaction() as session:
            due = [c.id for c in await conversations.due_stale(session, cutoff)]
        for conversation_id in due:
            log.info("conversation %s: no activity for %s hours, resolving", conversation_id, hours)
            await self.service.handle(ResolveRequested(ConversationRef(conversation_id=conversation_id), TIMER,
                                                       "timer"))
