"""The dispatcher drains each lane in order and looks for a lane's next row only when one is there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


async def _drain(db: Database, clock: ShiftedClock, rows: list[tuple[str, str]], deliverer: Recording, *,
                 handle_in: Callable[..., Any] | None = None, counting: Callable[[], None] = lambda: None) -> None:
    """A dispatcher delivers `rows` ((lane, text) notes written in one transaction) until none is pending.
    It scans the outbox only at start: every row must be found through the commit's announcement and the
    claims. `counting` is called once the rows are written, before any is claimed."""
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    dispatcher = Dispatcher(db, deliverer, handle_in=handle_in or service.handle_in, clock=clock,
                            idle_poll_seconds=3600)
    db.on_enqueued = lambda written: dispatcher.hint(lane for destination, lane in written if destination == k.SLACK)
    dispatcher.start()
    try:
        await dispatcher.wait_idle()  # the start-up scan found nothing
        async with db.transaction() as session:
            for lane, text in rows:
                k.enqueue_fields(session, str(k.NOTE), lane=lane, now=clock.now(), text=text)
        counting()
        await asyncio.wait_for(deliverer.all_done.wait(), 10)
        await dispatcher.wait_idle()
    finally:
        await dispatcher.stop()
        await dispatcher.coordinator.close()  # PostgreSQL: its lock connection
    async with db.transaction() as session:
        assert await outbox.count_pending(session) == 0


def _counter(db: Database, what: str, *, sql: str | None = None) -> tuple[list[int], Callable[[], None]]:
    """A count of the engine's `what` events (statements containing `sql`, if given) and what starts it."""
    count = [0]

    def seen(_conn: Any, *args: Any) -> None:
        if sql is None or all(part in str(args[1]).upper() for part in sql.upper().split("|")):
            count[0] += 1

    return count, lambda: event.listen(db.engine.sync_engine, what, seen)


async def test_rows_written_together_are_all_delivered_in_order_with_one_claim_each(
        db: Database, clock: ShiftedClock) -> None:
    rows = [("conversation:1", "a1"), ("conversation:1", "a2"), ("conversation:1", "a3"),
            ("conversation:2", "b1"), ("conversation:2", "b2")]
    deliverer = Recording(expected=len(rows))
    claims, start_counting = _counter(db, "before_cursor_execute", sql="FROM outbox|EXISTS")
    await _drain(db, clock, rows, deliverer, counting=start_counting)
    for lane in ("conversation:1", "conversation:2"):
        assert [text for row_lane, text in deliverer.delivered if row_lane == lane] == [
            text for row_lane, text in rows if row_lane == lane]
    # At most one claim per row: after a lane's last row, which the claim saw had nothing behind it, none.
    # Lanes claiming in the same transaction share a statement: no fewer than the longest lane's rows.
    assert 3 <= claims[0] <= len(rows)


async def test_lanes_settling_together_share_a_transaction(db: Database, clock: ShiftedClock) -> None:
    rows = [(f"conversation:{n}", f"conversation:{n}") for n in range(10)]
    deliverer = Recording(expected=len(rows))
    commits, count_commits = _counter(db, "commit")
    claims, count_claims = _counter(db, "before_cursor_execute", sql="FROM outbox|EXISTS")
    await _drain(db, clock, rows, deliverer, counting=lambda: (count_commits(), count_claims()))
    assert sorted(text for _, text in deliverer.delivered) == sorted(text for _, text in rows)
    # Ten claims and ten settles, one transaction each, would be twenty commits: they were grouped.
    assert 1 <= commits[0] <= 4
    # And the lanes of a transaction were claimed by one statement, not one each.
    assert 1 <= claims[0] <= commits[0]


async def test_a_request_that_fails_does_not_take_the_others_of_its_transaction_with_it(
        db: Database, clock: ShiftedClock) -> None:
    rows = [(f"conversation:{n}", f"conversation:{n}") for n in range(5)]
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

    deliverer = Recording(expected=len(rows) + 1)  # the failed one is delivered again
    await _drain(db, clock, rows, deliverer, handle_in=handle_in)
    assert failed == ["conversation:2", "conversation:2"]
    delivered = [text for _, text in deliverer.delivered]
    assert sorted(delivered) == sorted([*(text for _, text in rows), "conversation:2"])  # only it twice
