"""Lane locks shared through PostgreSQL: two instances (two engines on one database) never drain one lane
at once, and a drained lane is handed over after a short grace, or kept by its holder if work comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import coordination
from storage.coordination import LANE_SPACE, Coordinator
from storage.db import Database
from tests.support import databases

pytestmark = databases.postgres_only("lane locks live in PostgreSQL")


@pytest.fixture
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[Coordinator, Coordinator]]:
    async with databases.two_instances_of(tmp_path, Coordinator) as pair:
        yield pair


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


async def test_lanes_kept_through_the_grace_are_given_up_when_the_connection_was_lost_meanwhile(
        two_instances: tuple[Coordinator, Coordinator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordination, "RELEASE_GRACE", 60.0)  # the grace outlasts the test
    a, b = two_instances
    await a.try_lanes(["slack:c0", "slack:c1"])
    await a.release("slack:c1")  # in its grace, still locked by a's connection
    # The database ends a's session (a failover, a network cut): its locks go with it.
    killer = Database(databases.url_for(tmp_path))
    try:
        async with killer.engine.connect() as conn:
            killed = await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' AND "
                f"classid = {LANE_SPACE} AND objid = hashtext('slack:c0')::oid AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()")
            assert killed.all() == [(True,)]
    finally:
        await killer.dispose()
    # a's next statement (the leadership check) fails and forgets what it held; the lanes asked for just
    # after run on a new connection, and c1, lost with the old one, is not handed back as if still held.
    led, lanes = await asyncio.gather(a.try_lead(), a.try_lanes(["slack:c1", "slack:c2"]))
    assert not led
    assert lanes == ["slack:c2"] and not a.holds("slack:c1") and not a.holds("slack:c0")
    assert await b.try_lanes(["slack:c0", "slack:c1", "slack:c2"]) == ["slack:c0", "slack:c1"]
