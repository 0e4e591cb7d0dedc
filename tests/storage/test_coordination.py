"""Lane locks shared through PostgreSQL: two instances (two engines on one database) never drain one lane
at once, and a drained lane is handed over after a short grace, or kept by its holder if work comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.coordination import Coordinator
from storage.db import Database
from tests.support import databases

pytestmark = pytest.mark.skipif(not databases.on_postgres(), reason=(
    f"lane locks live in PostgreSQL: set {databases.PG_ENV} (make test-postgres)"))


@pytest.fixture
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[Coordinator, Coordinator]]:
    url = databases.url_for(tmp_path)
    await databases.prepare(url)
    dbs = [Database(url), Database(url)]
    coordinators = [Coordinator(db) for db in dbs]
    try:
        yield coordinators[0], coordinators[1]
    finally:
        for c in coordinators:
            await c.close()
        for db in dbs:
            await db.dispose()


async def test_a_lane_is_drained_by_one_instance_at_a_time(two_instances: tuple[Coordinator, Coordinator]) -> None:
    a, b = two_instances
    assert await a.try_lanes(["slack:c1", "slack:c2"]) == ["slack:c1", "slack:c2"]
    assert await b.try_lanes(["slack:c1", "slack:c2", "slack:c3"]) == ["slack:c3"]
    assert a.holds("slack:c1") and not b.holds("slack:c1")


async def test_a_drained_lane_is_kept_through_the_grace_then_handed_over(
        two_instances: tuple[Coordinator, Coordinator]) -> None:
    a, b = two_instances
    await a.try_lanes(["slack:c1", "slack:c2"])
    await a.release("slack:c1")
    await a.release("slack:c2")
    assert await b.try_lanes(["slack:c1"]) == []  # within the grace: still a's
    assert await a.try_lanes(["slack:c1"]) == ["slack:c1"]  # work came back: a keeps it
    await a.flush_releases()  # the grace is over: c2 goes back, c1 is being drained again
    assert await b.try_lanes(["slack:c1", "slack:c2"]) == ["slack:c2"]
    await a.release("slack:c1")
    await a.flush_releases()
    assert await b.try_lanes(["slack:c1"]) == ["slack:c1"]
    assert not a.holds("slack:c1") and not a.holds("slack:c2")


async def test_closing_hands_over_everything_at_once(two_instances: tuple[Coordinator, Coordinator]) -> None:
    a, b = two_instances
    await a.try_lanes(["slack:c1", "slack:c2"])
    await a.release("slack:c1")  # in its grace
    await a.close()
    assert await b.try_lanes(["slack:c1", "slack:c2"]) == ["slack:c1", "slack:c2"]
