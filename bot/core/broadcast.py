"""The campaign sender: one recipient at a time, at the configured rate, with all its state in the database.

It only reads: what it decides (a campaign starts, a recipient's outcome, done, failed) is an event handled by
the core's one entry point (bot/core/campaigns.py has the handlers).

A recipient row is `pending` until the send's outcome is recorded, so a restart (or a crash) resumes with
the first pending row. The one repeat possible is a crash between Telegram accepting a message and its row
being recorded, as for the outbox. Scheduled campaigns start when their stored `send_at` has passed: the
loop sleeps until the earliest one (or a wake), so nothing is scheduled in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import OperationalError

from bot.core.campaigns import FAILED
from bot.core.events import (
    CampaignFailed,
    CampaignRecipientDone,
    CampaignSendingDone,
    CampaignStartDue,
    Event,
    Outcome,
)
from bot.core.pacing import Pacer
from bot.core.ports import Clock, Delivered, Failed, Result, RetryLater
from bot.core.settings import CampaignSettings
from storage import campaigns as store
from storage.db import Database
from storage.models import Campaign, CampaignRecipient, Customer

log = logging.getLogger(__name__)

__all__ = ["FAILED", "CampaignSender", "SendCampaign"]

# Sends one campaign's message to one chat: the Telegram side implements it (bot/telegram_io/campaigns.py).
SendCampaign = Callable[[int, Campaign], Awaitable[Result]]
# The core's one entry point (Service.handle): every outcome the sender records is an event.
Handle = Callable[[Event], Awaitable[Outcome]]


class CampaignSender:
    def __init__(self, db: Database, send: SendCampaign, settings: CampaignSettings, *, clock: Clock,
                 handle: Handle, wake_outbox: Callable[[], None], idle_poll_seconds: float = 5.0) -> None:
        self.db = db
        self.handle = handle
        self.send = send
        self.settings = settings
        self.clock = clock
        self.wake_outbox = wake_outbox
        self.idle_poll_seconds = idle_poll_seconds
        # Burst 1: an even spacing, so a campaign never eats the whole overall Telegram budget at once.
        self.pacer = Pacer(settings.per_second, 1)
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        # Started again when this instance becomes the leader again after losing leadership.
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._stopped.clear()
        self._task = asyncio.create_task(self._run(), name="campaign-sender")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Finish the send in hand (its outcome is recorded), then stop; pending rows wait for the next start."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=grace_seconds)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self._step()
            except Exception:
                log.exception("campaign sender: step failed; retrying")
                timeout = self.idle_poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

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
        if upcoming is None:
            return self.idle_poll_seconds
        wait = (upcoming.replace(tzinfo=now.tzinfo) if upcoming.tzinfo is None else upcoming) - self.clock.now()
        return min(max(wait.total_seconds(), 0.01), self.idle_poll_seconds)

    async def _start(self, campaign_id: int, now: datetime) -> None:
        await self.handle(CampaignStartDue(campaign_id))

    async def _fail(self, campaign_id: int, reason: str) -> None:
        await self.handle(CampaignFailed(campaign_id, reason))
        self.wake_outbox()

    async def _send_next(self, campaign_id: int) -> bool:
        """Send to the campaign's next pending recipient; False once there is nothing more to do now."""
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None or campaign.status != "sending":
                return False  # cancelled: checked before every send, so a cancel stops within one message
            found = await store.next_pending(session, campaign_id)
        if found is None:
            await self.handle(CampaignSendingDone(campaign_id))
            self.wake_outbox()
            return False
        recipient, customer = found
        assert recipient.id is not None
        if customer.opted_out or customer.unreachable:
            await self.handle(CampaignRecipientDone(recipient.id, "skipped", "opted out" if customer.opted_out
                                                    else "blocked the bot"))
            return True
        await self.pacer.wait("campaign")
        if self._stopping:
            return False
        # Shielded: a stop must not cut the send from the recording of its outcome.
        return await asyncio.shield(self._send_and_record(campaign, recipient, customer))

    async def _send_and_record(self, campaign: Campaign, recipient: CampaignRecipient, customer: Customer) -> bool:
        assert recipient.id is not None
        result = await self._send(customer.tg_chat_id, campaign)
        if isinstance(result, RetryLater):
            log.warning("campaign %s: retrying in %.1fs: %s", campaign.id, result.after or 1.0, result.reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=result.after or 1.0)
            return not self._stopping
        if isinstance(result, Delivered):
            done = CampaignRecipientDone(recipient.id, "sent", tg_message_id=result.tg_message_id)
        elif result.unreachable:
            done = CampaignRecipientDone(recipient.id, "blocked", result.reason)
        else:
            done = CampaignRecipientDone(recipient.id, "failed", result.reason)
        outcome = await self.handle(done)
        return outcome.changed

    async def _send(self, chat_id: int, campaign: Campaign) -> Result:
        try:
            return await self.send(chat_id, campaign)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the campaign: this recipient fails, visibly
            log.exception("campaign %s: sending to %s failed", campaign.id, chat_id)
            return Failed(f"unexpected error: {type(exc).__name__}")
