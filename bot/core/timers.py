"""Timers as sweeps over stored state: waiting customers, silent owners, stale conversations.

Nothing is scheduled per conversation: each sweep looks for rows whose deadline has passed and acts on
them in a transaction that also records that it did (wait_alerted_at, idle_warned_at, the mode change
itself). So a restart loses no timer, and a second sweep, or a second instance, does not act twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core import effects as fx
from bot.core.events import Actor, ConversationRef, HandbackRequested, ResolveRequested
from bot.core.service import Service
from bot.core.settings import EscalationSettings, TimerSettings
from bot.core.text import quote
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
        now = self.service.clock.now()
        cutoff = now - timedelta(minutes=minutes)
        async with self.service.db.transaction() as session:
            for conv in await conversations.due_waiting_alert(session, cutoff):
                assert conv.last_customer_message_at is not None
                waited = int((now - conv.last_customer_message_at).total_seconds() // 60)
                who = f"{conv.owner_name}'s" if conv.mode == "human" else "a human's"
                reason = f"the customer has waited {waited} minutes for {who} reply"
                conv.wait_alerted_at = now
                session.add(conv)
                await fx.raise_alert(session, conv, reason, now=now)
                fx.slack(session, conv, fx.NOTE, now=now, text=f":hourglass: {quote(reason[0].upper() + reason[1:])}.")
                log.info("conversation %s: %s", conv.id, reason)
        self.service.wake()

    async def _silent_owners(self) -> None:
        """The owner is warned first, then the conversation goes back to the agent `warning` minutes later.
        A late sweep (a restart, a new leader after a failover) still warns before handing back, so the
        owner is never surprised; a reply starts a new silence, which is warned about again."""
        idle = self.settings.takeover_idle_minutes
        if not idle:
            return
        now = self.service.clock.now()
        warning = min(self.settings.takeover_idle_warning_minutes, idle)
        due: list[int] = []
        async with self.service.db.transaction() as session:
            for conv in await conversations.due_idle_owner(session, now - timedelta(minutes=idle - warning),
                                                           unwarned_only=False):
                assert conv.id is not None and conv.owner_active_at is not None
                warned = conv.idle_warned_at is not None and conv.idle_warned_at >= conv.owner_active_at
                if warning and not warned:
                    conv.idle_warned_at = now
                    session.add(conv)
                    fx.slack(session, conv, fx.NOTE, now=now, text=(
                        f":hourglass: <@{conv.owner_slack_user_id}>, no reply here for {idle - warning:g} minutes: "
                        f"the conversation goes back to the agent in {warning:g} minutes unless you reply."))
                elif conv.owner_active_at <= now - timedelta(minutes=idle) and (
                        not warning or (conv.idle_warned_at is not None
                                        and conv.idle_warned_at <= now - timedelta(minutes=warning))):
                    due.append(conv.id)
        for conversation_id in due:
            log.info("conversation %s: owner silent for %s minutes, handing back", conversation_id, idle)
            await self.service.handle(HandbackRequested(ConversationRef(conversation_id=conversation_id), TIMER,
                                                        "timer"))
        self.service.wake()

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
