"""The dispatcher drains each lane in order and looks for a lane's next row only when one is there."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from bot.core import outbox_kinds as k
from bot.core.access import Access
from bot.core.dispatch import Dispatcher
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
