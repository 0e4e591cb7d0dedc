"""Send budgets shared through PostgreSQL: two instances (two engines on one database) draw on one budget."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.pacing import Pacer
from storage import direct
from storage.db import Database
from storage.pacing import SharedBudgets
from tests.support import databases

on_postgres = databases.postgres_only("shared budgets live in PostgreSQL")


@pytest.fixture
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[SharedBudgets, SharedBudgets]]:
    async with databases.two_instances_of(tmp_path, SharedBudgets) as pair:
        yield pair


@on_postgres
async def test_reservations_from_two_instances_take_consecutive_slots(
        two_instances: tuple[SharedBudgets, SharedBudgets]) -> None:
    a, b = two_instances
    # Burst 2, then one send per 10 s, whichever instance asks.
    slots = [await (a if i % 2 == 0 else b).reserve("telegram:42", 10.0, 2) for i in range(6)]
    times = [at for at, _ in slots]
    waits = [wait for _, wait in slots]
    assert [round(later - earlier, 6) for earlier, later in itertools.pairwise(times)] == [10.0] * 5
    assert waits[:2] == [0.0, 0.0]
    for i, wait in enumerate(waits[2:], start=1):
        assert 10.0 * i - 1 < wait <= 10.0 * i  # the database's clock moved on a little between the calls
    # Another key has its own budget.
    assert (await a.reserve("telegram:43", 10.0, 2))[1] == 0.0


@on_postgres
async def test_a_pacer_on_one_instance_sees_the_sends_of_another(
        two_instances: tuple[SharedBudgets, SharedBudgets]) -> None:
    first, second = Pacer(0.1, 1), Pacer(0.1, 1)  # Slack's one post per ten seconds, say
    first.share(two_instances[0], "slack.post")
    second.share(two_instances[1], "slack.post")
    assert await second.has_capacity("C1")
    await first.wait("C1")  # the first slot: no waiting
    assert not await second.has_capacity("C1")
    assert await second.has_capacity("C2")
    assert await first.has_capacity("C2")


async def test_without_its_database_a_pacer_paces_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    unreachable = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    budgets = SharedBudgets(unreachable)
    pacer = Pacer(0.1, 2)
    pacer.share(budgets, "telegram")
    try:
        with caplog.at_level(logging.WARNING):
            await pacer.wait(7)
            await pacer.wait(7)
            assert not await pacer.has_capacity(7)  # the local budget (burst 2) is spent
    finally:
        await budgets.close()
        await unreachable.dispose()
    assert "shared pacing budget unavailable" in caplog.text


@on_postgres
async def test_reservations_asked_together_share_one_statement_and_keep_their_order(
        two_instances: tuple[SharedBudgets, SharedBudgets]) -> None:
    a, _ = two_instances
    statements: list[str] = []
    direct.on_statement.append(statements.append)
    try:
        slots = await asyncio.gather(*(a.reserve(key, 10.0, 2) for key in
                                       ["telegram:1", "telegram:2", "telegram:1", "telegram:1", "telegram:2"]))
    finally:
        direct.on_statement.remove(statements.append)
    assert len(statements) == 1
    ones = [slots[i] for i in (0, 2, 3)]
    assert [round(later[0] - earlier[0], 6) for earlier, later in itertools.pairwise(ones)] == [10.0, 10.0]
    assert [wait for _, wait in ones][:2] == [0.0, 0.0] and 9 < ones[2][1] <= 10.0
    assert round(slots[4][0] - slots[1][0], 6) == 10.0 and slots[4][1] == 0.0  # telegram:2's own budget
    # The next reservation of telegram:1, from either instance, comes after all three.
    at, _ = await two_instances[1].reserve("telegram:1", 10.0, 2)
    assert round(at - ones[2][0], 6) == 10.0
