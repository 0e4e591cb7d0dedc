"""The campaign sender: one recipient at a time, at the configured rate, with all its state in the database.

A recipient row is `pending` until the send's outcome is recorded, so a restart (or a crash) resumes with
the first pending row. The one repeat possible is a crash between Telegram accepting a message and its row
being recorded, as for the outbox. Scheduled campaigns start when their stored `send_at` has passed: each
step sets its worker's alarm for the earliest one (APScheduler keeps the time, bot/scheduling.py), and the
worker polls every `idle_poll_seconds` besides, so nothing is scheduled only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.campaigns import queue_update
from bot.core.pacing import Pacer
from bot.core.ports import Clock, Delivered, Failed, Result, RetryLater
from bot.core.settings import CampaignSettings
from bot.core.workers import Worker
from storage import audit
from storage import campaigns as store
from storage.db import Database
from storage.models import Campaign, CampaignRecipient, Customer

log = logging.getLogger(__name__)

FAILED = "campaign_failed"  # audit action; its detail is "campaign N: why", shown on the campaign's message

# Sends one campaign's message to one chat: the Telegram side implements it (bot/telegram_io/campaigns.py).
SendCampaign = Callable[[int, Campaign], Awaitable[Result]]


class CampaignSender:
    def __init__(self, db: Database, send: SendCampaign, settings: CampaignSettings, *, clock: Clock,
                 wake_outbox: Callable[[], None], idle_poll_seconds: float = 5.0) -> None:
        self.db = db
        self.send = send
        self.settings = settings
        self.clock = clock
        self.wake_outbox = wake_outbox
        self.idle_poll_seconds = idle_poll_seconds
        # Burst 1: an even spacing, so a campaign never eats the whole overall Telegram budget at once.
        self.pacer = Pacer(settings.per_second, 1)
        # A step that fails is logged and run again after a backoff of at most one poll interval.
        self.worker = Worker("campaign-sender", self._step, idle_seconds=idle_poll_seconds,
                             backoff_max=idle_poll_seconds)

    @property
    def _stopping(self) -> bool:
        return self.worker.stopping

    @property
    def _stopped(self) -> asyncio.Event:
        return self.worker.stop_requested

    def wake(self) -> None:
        self.worker.wake()

    def start(self) -> None:
        # Started again when this instance becomes the leader again after losing leadership.
        self.worker.start()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Finish the send in hand (its outcome is recorded), then stop; pending rows wait for the next start."""
        await self.worker.stop(grace_seconds)

    async def _step(self) -> float:
        now = self.clock.now()
        async with self.db.transaction() as session:
            due = [c.id for c in await store.due_to_start(session, now) if c.id is not None]
        # Each campaign starts (and sends) on its own: one that cannot must never hold back the others.
        for campaign_id in due:
            try:
                await self._start(campaign_id, now)
            except OperationalError as exc:  # the database away for a moment: the next step tries again
                log.warning("campaign %s: could not start yet (%s)", campaign_id, type(exc).__name__)
            except Exception as exc:
                log.exception("campaign %s: could not start", campaign_id)
                await self._fail(campaign_id, f"could not start ({type(exc).__name__}: {str(exc)[:200]})")
        async with self.db.transaction() as session:
            sending = [c.id for c in await store.find_sending(session) if c.id is not None]
            upcoming = await store.next_start(session)
        self.wake_outbox()
        for campaign_id in sending:
            try:
                while not self._stopping and await self._send_next(campaign_id):
                    pass
            except Exception:
                log.exception("campaign %s: sending step failed; the next step resumes it", campaign_id)
        if upcoming is not None:
            wait = (upcoming.replace(tzinfo=now.tzinfo) if upcoming.tzinfo is None else upcoming) - self.clock.now()
            # The alarm wakes the worker when the earliest campaign falls due (APScheduler's, in the wiring).
            self.worker.wake_in(max(wait.total_seconds(), 0.01))
        return self.idle_poll_seconds

    async def _start(self, campaign_id: int, now: datetime) -> None:
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None or campaign.status != "scheduled":
                return
            # Recipients are fixed as sending starts, in the same transaction as the status change.
            ids = await store.audience_ids(session, campaign.audience, campaign.audience_value, now)
            await store.add_recipients(session, campaign_id, ids)
            campaign.status, campaign.started_at = "sending", now
            queue_update(session, campaign, now)
            log.info("campaign %s: sending to %s customers", campaign_id, len(ids))

    async def _fail(self, campaign_id: int, reason: str) -> None:
        """Stop a campaign for good and say why on its Slack message."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None:
                return
            campaign.status, campaign.finished_at = "failed", now
            audit.record(session, action=FAILED, source="sender", conversation_id=None, actor_slack_user_id=None,
                         actor_name=None, detail=f"campaign {campaign_id}: {reason}")
            queue_update(session, campaign, now)
        self.wake_outbox()

    async def _send_next(self, campaign_id: int) -> bool:
        """Send to the campaign's next pending recipient; False once there is nothing more to do now."""
        queued = False
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None or campaign.status != "sending":
                return False  # cancelled: checked before every send, so a cancel stops within one message
            found = await store.next_pending(session, campaign_id)
            if found is None:
                campaign.status, campaign.finished_at = "done", self.clock.now()
                queue_update(session, campaign, self.clock.now())
                log.info("campaign %s: done", campaign_id)
            else:
                recipient, customer = found
                if customer.opted_out or customer.unreachable:
                    self._record(recipient, "skipped", "opted out" if customer.opted_out else "blocked the bot")
                    session.add(recipient)
                    queued = self._progress(session, campaign)
        if found is None:
            self.wake_outbox()
            return False
        if recipient.status != "pending":
            if queued:
                self.wake_outbox()
            return True
        await self.pacer.wait("campaign")
        if self._stopping:
            return False
        # Shielded: a stop must not cut the send from the recording of its outcome.
        return await asyncio.shield(self._send_and_record(campaign, recipient, customer))

    async def _send_and_record(self, campaign: Campaign, recipient: CampaignRecipient, customer: Customer) -> bool:
        result = await self._send(customer.tg_chat_id, campaign)
        if isinstance(result, RetryLater):
            log.warning("campaign %s: retrying in %.1fs: %s", campaign.id, result.after or 1.0, result.reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=result.after or 1.0)
            return not self._stopping
        async with self.db.transaction() as session:
            row = await session.get(CampaignRecipient, recipient.id)
            fresh = await store.get(session, recipient.campaign_id)
            if row is None or fresh is None:
                return False
            if isinstance(result, Delivered):
                self._record(row, "sent", None)
                row.sent_at, row.tg_message_id = self.clock.now(), result.tg_message_id
            elif isinstance(result, Failed) and result.unreachable:
                self._record(row, "blocked", result.reason)
                who = await session.get(Customer, customer.id)
                if who is not None:
                    who.unreachable = True
                    session.add(who)
            else:
                self._record(row, "failed", result.reason)
            session.add(row)
            # Cancelled meanwhile: this last send still shows in the final numbers.
            queued = self._progress(session, fresh, force=fresh.status != "sending")
        if queued:
            self.wake_outbox()  # after the commit, so the dispatcher finds the row
        return True

    async def _send(self, chat_id: int, campaign: Campaign) -> Result:
        try:
            return await self.send(chat_id, campaign)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the campaign: this recipient fails, visibly
            log.exception("campaign %s: sending to %s failed", campaign.id, chat_id)
            return Failed(f"unexpected error: {type(exc).__name__}")

    @staticmethod
    def _record(recipient: CampaignRecipient, status: str, error: str | None) -> None:
        recipient.status, recipient.error = status, error

    def _progress(self, session: AsyncSession, campaign: Campaign, *, force: bool = False) -> bool:
        """Queue a progress update of the Slack message, at most once per `progress_seconds`."""
        now = self.clock.now()
        last = campaign.progress_queued_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        if force or last is None or (now - last).total_seconds() >= self.settings.progress_seconds:
            queue_update(session, campaign, now)
            return True
        return False
