"""The dispatcher drains each lane in order and looks for a lane's next row only when one is there."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from bot.core import outbox_kinds as k
from bot.core.access import Access
from bot.core.dispatch import Dispatcher
from bot.core.events import DeliverySettled
from bot.core.ports import Delivered, Loaded, Result
from bot.core.service import Service
from bot.core.settings import TextSettings
from storage import outbox
from storage.db import Database
from storage.models import OutboxItem
from tests.support.harness import ShiftedClock


class Recording:
    destination = k.SLACK

    def __init__(self, expected: int) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.expected = expected
        self.all_done = asyncio.Event()

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        self.delivered.append((item.lane, outbox.payload_of(item)["text"]))
        if len(self.delivered) == self.expected:
            self.all_done.set()
        return Delivered()


async def test_rows_written_together_are_all_delivered_in_order_with_one_claim_each(
        db: Database, clock: ShiftedClock) -> None:
    rows = {"conversation:1": ["a1", "a2", "a3"], "conversation:2": ["b1", "b2"]}
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    deliverer = Recording(expected=5)
    # No timed scan during the test: every row must be found through the commit's announcement and the claims.
    dispatcher = Dispatcher(db, deliverer, handle_in=service.handle_in, clock=clock, idle_poll_seconds=3600)
    db.on_enqueued = lambda lanes: dispatcher.hint(lane for destination, lane in lanes if destination == k.SLACK)
    claims = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal claims
        claims += "FROM outbox" in statement and "EXISTS" in statement.upper()

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    dispatcher.start()
    try:
        await dispatcher.wait_idle()  # the start-up scan found nothing
        async with db.transaction() as session:
            for lane, texts in rows.items():
                for text in texts:
                    k.enqueue_fields(session, str(k.NOTE), lane=lane, now=clock.now(), text=text)
        await asyncio.wait_for(deliverer.all_done.wait(), 10)
        await dispatcher.wait_idle()
    finally:
        await dispatcher.stop()
        await dispatcher.coordinator.close()  # PostgreSQL: its lock connection
    for lane, texts in rows.items():
        assert [text for row_lane, text in deliverer.delivered if row_lane == lane] == texts
    # One claim per row: after a lane's last row, which the claim saw had nothing behind it, none.
    assert claims == 5
    async with db.transaction() as session:
        assert await outbox.count_pending(session) == 0


def _count_commits(db: Database) -> list[int]:
    commits = [0]

    def count(*_args: Any) -> None:
        commits[0] += 1

    event.listen(db.engine.sync_engine, "commit", count)
    return commits


async def test_lanes_settling_together_share_a_transaction(db: Database, clock: ShiftedClock) -> None:
    lanes = [f"conversation:{n}" for n in range(10)]
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    deliverer = Recording(expected=len(lanes))
    dispatcher = Dispatcher(db, deliverer, handle_in=service.handle_in, clock=clock, idle_poll_seconds=3600)
    db.on_enqueued = lambda written: dispatcher.hint(lane for destination, lane in written if destination == k.SLACK)
    dispatcher.start()
    try:
        await dispatcher.wait_idle()
        async with db.transaction() as session:
            for lane in lanes:
                k.enqueue_fields(session, str(k.NOTE), lane=lane, now=clock.now(), text=lane)
        commits = _count_commits(db)
        await asyncio.wait_for(deliverer.all_done.wait(), 10)
        await dispatcher.wait_idle()
    finally:
        await dispatcher.stop()
        await dispatcher.coordinator.close()
    assert sorted(text for _, text in deliverer.delivered) == sorted(lanes)
    # Ten claims and ten settles, one transaction each, would be twenty commits: they were grouped.
    assert 1 <= commits[0] <= 4
    async with db.transaction() as session:
        assert await outbox.count_pending(session) == 0


async def test_a_request_that_fails_does_not_take_the_others_of_its_transaction_with_it(
        db: Database, clock: ShiftedClock) -> None:
    lanes = [f"conversation:{n}" for n in range(5)]
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    failed: list[str] = []

    async def handle_in(session: Any, event: Any) -> Any:
        # The settle of one row fails twice (a bug, a lost connection): in the shared transaction and in the
        # one of its own that follows; its lane is retried later and the others commit at once.
        if isinstance(event, DeliverySettled) and outbox.payload_of(event.item)["text"] == "conversation:2" \
                and len(failed) < 2:
            failed.append("conversation:2")
            raise RuntimeError("settling this one failed")
        return await service.handle_in(session, event)

    deliverer = Recording(expected=len(lanes) + 1)  # the failed one is delivered again
    dispatcher = Dispatcher(db, deliverer, handle_in=handle_in, clock=clock, idle_poll_seconds=3600)
    db.on_enqueued = lambda written: dispatcher.hint(lane for destination, lane in written if destination == k.SLACK)
    dispatcher.start()
    try:
        await dispatcher.wait_idle()
        async with db.transaction() as session:
            for lane in lanes:
                k.enqueue_fields(session, str(k.NOTE), lane=lane, now=clock.now(), text=lane)
        await asyncio.wait_for(deliverer.all_done.wait(), 10)
        await dispatcher.wait_idle()
    finally:
        await dispatcher.stop()
        await dispatcher.coordinator.close()
    assert failed == ["conversation:2", "conversation:2"]
    delivered = [text for _, text in deliverer.delivered]
    assert sorted(delivered) == sorted([*lanes, "conversation:2"])  # only the failed one twice
    async with db.transaction() as session:
        assert await outbox.count_pending(session) == 0
