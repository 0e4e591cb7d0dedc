"""The campaign sender: starts campaigns whose time has come and feeds their messages to the outbox.

It only reads: what it decides (a campaign starts, the next messages are due, done, failed) is an event
handled by the core's one entry point (bot/core/campaigns.py has the handlers). Each recipient's message is a
Telegram outbox row in that customer's lane, so the one dispatcher paces it (the campaign's own budget,
burst 1), retries it, orders it with the customer's other messages and settles its recipient; a restart or
another instance resumes it like any row. The sender keeps at most `window` of a campaign's messages
queued at a time, so a large campaign never takes the dispatcher's lanes from the conversations.

Scheduled campaigns start when their stored `send_at` has passed: each step sets its worker's alarm for the
earliest one (APScheduler keeps the time, bot/scheduling.py), and the worker polls every
`idle_poll_seconds` besides, so nothing is scheduled only in memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import OperationalError

from bot.core.campaigns import FAILED
from bot.core.events import CampaignFailed, CampaignSendingDone, CampaignSendsDue, CampaignStartDue, Event, Outcome
from bot.core.ports import Clock
from bot.core.settings import CampaignSettings
from bot.core.workers import Worker
from storage import campaigns as store
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["FAILED", "MAX_WINDOW", "CampaignSender"]

# The core's one entry point (Service.handle).
Handle = Callable[[Event], Awaitable[Outcome]]
# A campaign's messages queued at once, at most: a second's worth at its rate, and never more than 8 of the
# dispatcher's 64 lanes. They leave one at a time anyway (bot/telegram_io/campaigns.py); a few queued keep
# the next one claimed and ready while one is sent.
MAX_WINDOW = 8


class CampaignSender:
    def __init__(self, db: Database, settings: CampaignSettings, *, clock: Clock, handle: Handle,
                 wake_outbox: Callable[[], None], idle_poll_seconds: float = 5.0) -> None:
        self.db = db
        self.handle = handle
        self.settings = settings
        self.clock = clock
        self.wake_outbox = wake_outbox
        self.idle_poll_seconds = idle_poll_seconds
        self.window = max(1, min(MAX_WINDOW, math.ceil(settings.per_second)))
        # A step that fails is logged and run again after a backoff of at most one poll interval.
        self.worker = Worker("campaign-sender", self._step, idle_seconds=idle_poll_seconds,
                             backoff_max=idle_poll_seconds)

    @property
    def _stopping(self) -> bool:
        return self.worker.stopping

    def wake(self) -> None:
        self.worker.wake()

    def start(self) -> None:
        # Started again when this instance becomes the leader again after losing leadership.
        self.worker.start()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop feeding; queued messages are the dispatcher's (its stop lets the one in hand finish)."""
        await self.worker.stop(grace_seconds)

    async def _step(self) -> float:
        now = self.clock.now()
        async with self.db.transaction() as session:
            due = [c.id for c in await store.due_to_start(session, now) if c.id is not None]
        # Each campaign starts (and sends) on its own: one that cannot must never hold back the others.
        for campaign_id in due:
            try:
                await self.handle(CampaignStartDue(campaign_id))
            except OperationalError as exc:  # the database away for a moment: the next step tries again
                log.warning("campaign %s: could not start yet (%s)", campaign_id, type(exc).__name__)
            except Exception as exc:
                log.exception("campaign %s: could not start", campaign_id)
                await self.handle(CampaignFailed(campaign_id, f"could not start ({type(exc).__name__}: "
                                                              f"{str(exc)[:200]})"))
                self.wake_outbox()
        async with self.db.transaction() as session:
            sending = {c.id: await store.counts(session, c.id) for c in await store.find_sending(session)
                       if c.id is not None}
            upcoming = await store.next_start(session)
        for campaign_id, counts in sending.items():
            if self._stopping:
                break
            try:
                await self._feed(campaign_id, counts)
            except Exception:
                log.exception("campaign %s: sending step failed; the next step resumes it", campaign_id)
        if upcoming is not None:
            wait = (upcoming.replace(tzinfo=now.tzinfo) if upcoming.tzinfo is None else upcoming) - self.clock.now()
            # The alarm wakes the worker when the earliest campaign falls due (APScheduler's, in the wiring).
            self.worker.wake_in(max(wait.total_seconds(), 0.01))
        return self.idle_poll_seconds

    async def _feed(self, campaign_id: int, counts: dict[str, int]) -> None:
        pending, queued = counts.get("pending", 0), counts.get("queued", 0)
        if not pending and not queued:
            await self.handle(CampaignSendingDone(campaign_id))
        elif pending and queued < self.window:
            # The recipients' outcomes wake this loop (bot/core/campaigns.py send_settled) to queue more.
            await self.handle(CampaignSendsDue(campaign_id, self.window - queued))
