"""The dispatcher: drains one destination's outbox, strictly in order per lane, lanes in parallel.

Finding work costs database round trips, and they dominate Baton's CPU per message, so the dispatcher
avoids looking for what it already knows:
- a commit that wrote outbox rows names their lanes (`hint`, through Database.on_enqueued): those lanes
  start at once, with no scan of the table;
- a lane drains row after row, settling one and claiming the next in the same transaction;
- the table is scanned only when something may be there that no hint announced: at start, when a
  retried row falls due, after a lane left rows behind, when all lanes were busy, and every
  `idle_poll_seconds` for rows written by another instance (or left by a crash).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.claim import loaded_for
from bot.core.events import DeliverySettled, Event, Outcome
from bot.core.group_commit import GroupCommit
from bot.core.ports import Clock, Delivered, Deliverer, Failed, Loaded, Observer, Result, RetryLater
from bot.core.tasks import TaskGroup
from bot.core.workers import Worker
from storage import outbox
from storage.coordination import Coordinator
from storage.db import Database
from storage.models import Customer, OutboxItem

log = logging.getLogger(__name__)


class Claimed(NamedTuple):
    """What a claim found: the row and what its delivery reads, or None; whether the head is there but not
    due yet; whether rows wait behind the claimed one (when none does, nothing is looked for after it)."""

    row: tuple[OutboxItem, Loaded] | None
    not_due: bool = False
    more: bool = True


NOTHING = Claimed(None)


@dataclass(frozen=True)
class _Request:
    """One lane's part of a shared transaction: settle a delivery (unless None), then claim the lane's next
    row (unless `lane` is None)."""

    lane: str | None
    settle: tuple[OutboxItem, Loaded, Result, datetime] | None = None


# The core's one entry point, run inside the dispatcher's transaction (Service.handle_in).
HandleIn = Callable[[AsyncSession, Event], Awaitable[Outcome]]


class Dispatcher:
    def __init__(self, db: Database, deliverer: Deliverer, *, handle_in: HandleIn, clock: Clock | None = None,
                 max_lanes: int = 64, idle_poll_seconds: float = 2.0, retry_base_seconds: float = 1.0,
                 observer: Observer | None = None, coordinator: Coordinator | None = None) -> None:
        self.db = db
        # Outcomes are recorded as DeliverySettled events, in the transaction that claims the lane's next row.
        self.handle_in = handle_in
        self.observer = observer or Observer()
        # Several instances on PostgreSQL: a lane is drained only while this process holds its lock.
        self.coordinator = coordinator or Coordinator(db)
        self.deliverer = deliverer
        self.destination = deliverer.destination
        self.clock = clock or Clock()
        self.max_lanes = max_lanes
        self.retry_base_seconds = retry_base_seconds
        self.idle_poll_seconds = idle_poll_seconds
        self._idle = asyncio.Event()
        self._active: set[str] = set()
        self._hinted: set[str] = set()  # lanes with new rows, not being drained
        self._again: set[str] = set()  # lanes with new rows while being drained: claim once more
        self._rescan = True
        self._next_scan = 0.0  # loop time of the next timed scan
        self._later: datetime | None = None  # the earliest head not yet due, as of the last scan
        self._overflow = False  # the last scan found more due lanes than there was room for
        self._tasks = TaskGroup(f"dispatch-{self.destination}")
        # Lanes that settle or claim at about the same time share one transaction (bot/core/group_commit.py).
        self._group: GroupCommit[_Request, tuple[str | None, Claimed]] = GroupCommit(
            db, f"commit-{self.destination}", apply_all=self._apply)
        # The loop that finds work and starts lanes; the lanes themselves are tasks of `_tasks`.
        self.worker = Worker(f"dispatcher-{self.destination}", self._step, backoff_max=idle_poll_seconds)

    @property
    def _stopping(self) -> bool:
        return self.worker.stopping

    def wake(self) -> None:
        """Look at the whole outbox of this destination again."""
        self._rescan = True
        self._idle.clear()
        self.worker.wake()

    def hint(self, lanes: Iterable[str]) -> None:
        """Rows were committed in these lanes."""
        lanes = list(lanes)
        if not lanes:
            return
        for lane in lanes:
            (self._again if lane in self._active else self._hinted).add(lane)
        self._idle.clear()
        self.worker.wake()

    @property
    def is_idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Until nothing is pending or in flight for this destination (tests, benchmarks, shutdown)."""
        await self._idle.wait()

    def start(self) -> None:
        self.worker.start()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let each lane finish the item in hand (it is settled, not abandoned), then stop."""
        await self.worker.stop(grace=None)  # a scan or a lane start in hand is short, and must not be cut
        await self._tasks.wait(grace_seconds)
        # Whatever is still running (a slow agent) is cancelled; its row stays pending for the next start.
        await self._tasks.cancel_all()
        await self._group.wait()  # a shared transaction in hand is finished, not cut

    async def _step(self) -> float:
        """Scan when due, start hinted lanes; seconds until the next timed scan (a wake comes sooner)."""
        loop = asyncio.get_running_loop()
        if self._rescan or loop.time() >= self._next_scan:
            self._rescan = False
            try:
                wait = await self._scan()
            except Exception:
                log.exception("dispatcher %s: cannot read the outbox; retrying", self.destination)
                wait = self.idle_poll_seconds
            self._next_scan = loop.time() + wait
        if self._hinted:
            await self._start_hinted()
        if not (self._active or self._hinted or self._rescan or self._overflow or self._later):
            self._idle.set()
        return max(self._next_scan - loop.time(), 0.0)

    async def _scan(self) -> float:
        """Start the due lanes; seconds until the next scan."""
        now = self.clock.now()
        room = max(self.max_lanes - len(self._active), 0)
        async with self.db.transaction() as session:
            lanes, self._later = await outbox.scan_heads(session, self.destination, now,
                                                         limit=room + len(self._active))
        candidates = [lane for lane in lanes if lane not in self._active]
        self._overflow = len(candidates) > room
        self._hinted.difference_update(candidates)
        refused = await self._start(candidates[:room])
        # Started lanes wake this loop when they end; only a head that is not due yet needs a timer.
        wait = (self._later - now).total_seconds() if self._later is not None else self.idle_poll_seconds
        if refused:
            # Lanes another instance is draining look due until it is done: look again soon, not at once.
            wait = min(wait, 0.2)
        return min(max(wait, 0.01), self.idle_poll_seconds)

    async def _start_hinted(self) -> None:
        room = max(self.max_lanes - len(self._active), 0)
        lanes = [lane for lane in self._hinted if lane not in self._active][:room]
        self._hinted.difference_update(lanes)  # the rest waits for a lane to end
        if await self._start(lanes):
            self._next_scan = min(self._next_scan, asyncio.get_running_loop().time() + 0.2)

    async def _start(self, lanes: list[str]) -> int:
        """Drain these lanes; how many another instance holds."""
        granted = set(await self.coordinator.try_lanes([self._key(lane) for lane in lanes]))
        for lane in lanes:
            if self._key(lane) in granted:
                self._active.add(lane)
                self._tasks.spawn(self._drain(lane), name=f"{self.destination}:{lane}")
        return len(lanes) - len(granted)

    def _key(self, lane: str) -> str:
        return f"{self.destination}:{lane}"

    async def _drain(self, lane: str) -> None:
        rescan = False
        try:
            while True:
                self._again.discard(lane)
                # Shielded: a stop must not cut a transaction in half (SQLite would keep its lock).
                claimed = await asyncio.shield(self._claim(lane))
                while claimed.row is not None:
                    item, loaded = claimed.row
                    result = await self._deliver(item, loaded)
                    settled_at = self.clock.now()
                    retry = isinstance(result, RetryLater)
                    # The next row is looked for only when one is known to be there: behind this one when
                    # it was claimed, or announced since (read before the announcement is cleared).
                    go_on = (not retry and not self._stopping and self.coordinator.holds(self._key(lane))
                             and (claimed.more or lane in self._again))
                    self._again.discard(lane)
                    author, claimed = await asyncio.shield(
                        self._settle(item, loaded, result, settled_at, lane if go_on else None))
                    self._observe(item, result, author, settled_at)
                    if retry:
                        rescan = True  # the lane waits; a scan sets the timer for when its row is due
                        return
                rescan = claimed.not_due
                # A row committed after the last claim began was not seen by it: claim once more.
                if claimed.not_due or lane not in self._again or self._stopping or not self.coordinator.holds(
                        self._key(lane)):
                    return
        except Exception:
            log.exception("dispatcher %s: lane %s stopped; it will be retried", self.destination, lane)
            rescan = True
        finally:
            try:
                # Released after the last settle committed, so the next holder reads what this one wrote.
                await asyncio.shield(self.coordinator.release(self._key(lane)))
            finally:
                self._active.discard(lane)
                if lane in self._again:  # hinted while the lock was being released: start it again
                    self._again.discard(lane)
                    self._hinted.add(lane)
                if rescan or self._overflow:
                    self._rescan = True
                self.worker.wake()

    def _observe(self, item: OutboxItem, result: Result, author: str | None, now: datetime) -> None:
        try:
            self.observer.delivery_settled(item, result, author=author, now=now)
        except Exception:  # metrics must never stop a lane
            log.exception("observer failed on outbox %s", item.id)

    async def _claim(self, lane: str) -> Claimed:
        return (await self._group.submit(_Request(lane)))[1]

    async def _settle(self, item: OutboxItem, loaded: Loaded, result: Result, now: datetime, lane: str | None
                      ) -> tuple[str | None, Claimed]:
        """Record the result and, unless `lane` is None, claim the lane's next row: one transaction."""
        return await self._group.submit(_Request(lane, (item, loaded, result, now)))

    async def _apply(self, session: AsyncSession, requests: list[_Request]) -> list[tuple[str | None, Claimed]]:
        """Settle the group's deliveries, in order, then claim the next row of each lane that asked: one
        statement for all the claims, after the settles, which it must see."""
        authors = [await self._settle_in(session, *request.settle) if request.settle is not None else None
                   for request in requests]
        claimed = await self._claim_in(session, [request.lane for request in requests if request.lane is not None])
        return [(author, claimed.get(request.lane, NOTHING) if request.lane is not None else NOTHING)
                for author, request in zip(authors, requests, strict=True)]

    async def _settle_in(self, session: AsyncSession, item: OutboxItem, loaded: Loaded, result: Result,
                         now: datetime) -> str | None:
        if isinstance(result, Delivered) and result.then is not None:
            await self.handle_in(session, result.then)  # what the delivery learnt, committed with its settle
        settled = await self.handle_in(session, DeliverySettled(item, result, now, self.retry_base_seconds, loaded))
        return settled.author

    async def _claim_in(self, session: AsyncSession, lanes: list[str]) -> dict[str, Claimed]:
        """Each lane's head if it is due, its attempt recorded (IN_FLIGHT) in the transaction that locked it."""
        claimed: dict[str, Claimed] = {}
        due_by = self.clock.now() + timedelta(milliseconds=1)
        for lane, (item, conv, customer, message, more) in (
                await outbox.claim_heads(session, self.destination, lanes)).items():
            if item.next_attempt_at > due_by:
                claimed[lane] = Claimed(None, not_due=True)
                continue
            assert item.id is not None
            # The deliverer must see the row as it was before this attempt (last_error tells it whether a
            # previous attempt was cut short): a later load in this transaction must not refresh this object.
            session.expunge(item)
            outbox.mark_attempt(session, item.id)
            if customer is None and item.lane.startswith("customer:"):  # a Telegram row of no conversation
                customer = await session.get(Customer, int(item.lane.split(":", 1)[1]))
            claimed[lane] = Claimed((item, await loaded_for(session, item, conv, customer, message)), more=more)
        return claimed

    async def _deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        if loaded.unusable is not None:
            # No handler could do anything with it, now or later: failed (kept, logged), not retried for ever.
            log.error("%s", loaded.unusable)
            return Failed(loaded.unusable)
        try:
            return await self.deliverer.deliver(item, loaded)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an unclassified error: never lose the row, try again later
            log.exception("outbox %s (%s/%s): unexpected error", item.id, item.destination, item.kind)
            return RetryLater(f"unexpected error: {type(exc).__name__}")

