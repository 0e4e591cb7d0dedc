"""The dispatcher: drains one destination's outbox, strictly in order per lane, lanes in parallel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from bot.core.ports import Clock, Deliverer, Observer, Result, RetryLater
from bot.core.settle import settle
from bot.core.tasks import TaskGroup
from storage import outbox
from storage.coordination import Coordinator
from storage.db import Database
from storage.models import OutboxItem

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, db: Database, deliverer: Deliverer, *, clock: Clock | None = None,
                 max_lanes: int = 64, idle_poll_seconds: float = 2.0, retry_base_seconds: float = 1.0,
                 observer: Observer | None = None,
                 coordinator: Coordinator | None = None) -> None:
        self.db = db
        self.observer = observer or Observer()
        # Several instances on PostgreSQL: a lane is drained only while this process holds its lock.
        self.coordinator = coordinator or Coordinator(db)
        self.deliverer = deliverer
        self.destination = deliverer.destination
        self.clock = clock or Clock()
        self.max_lanes = max_lanes
        self.retry_base_seconds = retry_base_seconds
        # Rows written by another process (or left by a crash) are found by this periodic look.
        self.idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._active: set[str] = set()
        self._tasks = TaskGroup(f"dispatch-{self.destination}")
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    @property
    def is_idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Until nothing is pending or in flight for this destination (tests, benchmarks, shutdown)."""
        await self._idle.wait()

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name=f"dispatcher-{self.destination}")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let each lane finish the item in hand (it is settled, not abandoned), then stop."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self._tasks.wait(grace_seconds)
        # Whatever is still running (a slow agent) is cancelled; its row stays pending for the next start.
        await self._tasks.cancel_all()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self._start_due_lanes()
            except Exception:
                log.exception("dispatcher %s: cannot read the outbox; retrying", self.destination)
                timeout = self.idle_poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def _start_due_lanes(self) -> float:
        now = self.clock.now()
        room = self.max_lanes - len(self._active)
        async with self.db.transaction() as session:
            lanes, later = await outbox.scan_heads(session, self.destination, now,
                                                   limit=max(room, 0) + len(self._active))
        candidates = [lane for lane in lanes if lane not in self._active][:max(room, 0)]
        granted = await self.coordinator.try_lanes([self._key(lane) for lane in candidates])
        for lane in candidates:
            if self._key(lane) not in granted:
                continue
            self._active.add(lane)
            self._tasks.spawn(self._drain(lane), name=f"{self.destination}:{lane}")
        if not lanes and later is None and not self._active:
            self._idle.set()
        # Started lanes wake this loop when they end; only a head that is not due yet needs a timer.
        wait = (later - now).total_seconds() if later is not None else self.idle_poll_seconds
        if len(granted) < len(candidates):
            # Lanes another instance is draining look due until it is done: look again soon, not at once.
            wait = min(wait, 0.2)
        return min(max(wait, 0.01), self.idle_poll_seconds)

    def _key(self, lane: str) -> str:
        return f"{self.destination}:{lane}"

    async def _drain(self, lane: str) -> None:
        try:
            while not self._stopping and self.coordinator.holds(self._key(lane)):
                # Shielded: a stop must not cut a transaction in half (SQLite would keep its lock).
                item = await asyncio.shield(self._claim(lane))
                if item is None:
                    return
                result = await self._deliver(item)
                # Shielded: a stop must not cut a transaction in half (SQLite would keep its lock).
                settled_at = self.clock.now()
                author = await asyncio.shield(settle(self.db, item, result, settled_at,
                                                     retry_base=self.retry_base_seconds))
                # Rows the settle enqueued (a ✅ after a Telegram send) wake their own dispatchers through
                # Database.on_enqueued; this lane simply goes on with its next row.
                self._observe(item, result, author, settled_at)
                if isinstance(result, RetryLater):
                    return  # the lane waits; the loop restarts it when the row is due
        except Exception:
            log.exception("dispatcher %s: lane %s stopped; it will be retried", self.destination, lane)
        finally:
            try:
                # Released after the last settle committed, so the next holder reads what this one wrote.
                await asyncio.shield(self.coordinator.release(self._key(lane)))
            finally:
                self._active.discard(lane)
                self._wake.set()

    def _observe(self, item: OutboxItem, result: Result, author: str | None, now: datetime) -> None:
        try:
            self.observer.delivery_settled(item, result, author=author, now=now)
        except Exception:  # metrics must never stop a lane
            log.exception("observer failed on outbox %s", item.id)

    async def _claim(self, lane: str) -> OutboxItem | None:
        """The lane's head if it is due, its attempt recorded (IN_FLIGHT) in the transaction that locked it."""
        async with self.db.transaction() as session:
            item = await outbox.claim_head(session, self.destination, lane)
            if item is None or item.next_attempt_at > self.clock.now() + timedelta(milliseconds=1):
                return None
            assert item.id is not None
            # The deliverer must see the row as it was before this attempt (last_error tells it whether a
            # previous attempt was cut short), so the update must not touch this object.
            session.expunge(item)
            await outbox.mark_attempt(session, item.id)
            return item

    async def _deliver(self, item: OutboxItem) -> Result:
        try:
            return await self.deliverer.deliver(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an unclassified error: never lose the row, try again later
            log.exception("outbox %s (%s/%s): unexpected error", item.id, item.destination, item.kind)
            return RetryLater(f"unexpected error: {type(exc).__name__}")
