"""Shared fixtures: the sandbox servers on port 0 and a Baton wired to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support import databases
from tests.support.agents import ScriptedAgent
from tests.support.harness import ADMIN, ALICE, BOB, CHANNEL, EVE, World


def pytest_report_header() -> str:
    return f"storage: {'PostgreSQL ' + databases.PG_ENV if databases.on_postgres() else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Asked for PostgreSQL but none answers: skip the run, saying why, rather than fail every test.
    if not databases.on_postgres():
        return
    why = asyncio.run(databases.reachable())
    if why is not None:
        skip = pytest.mark.skip(reason=f"{databases.PG_ENV} is set but PostgreSQL is not reachable ({why})")
        for item in items:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if databases.on_postgres():
        asyncio.run(databases.drop_template())


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs a `baton` command has its logging set up (bot/logs.py) on the stream of that test
    (pytest's capture, which is closed after it): later tests would log into a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
async def _own_databases() -> AsyncIterator[None]:
    """Each test's PostgreSQL databases are dropped when it ends (SQLite files go with tmp_path)."""
    yield
    if databases.on_postgres():
        await databases.drop_created()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    server.add_customer(1001, "Carol", last_name="Customer", username="carol", language_code="en")
    server.add_customer(1002, "Dan", username="dan_k", language_code="de")
    yield server
    await server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    server.add_channel(CHANNEL, "support")
    server.add_user(ALICE, "alice", real_name="Alice Operator")
    server.add_user(BOB, "bob", real_name="Bob Operator")
    server.add_user(EVE, "eve", real_name="Eve Visitor")
    server.add_user(ADMIN, "admin", real_name="Ada Admin")
    yield server
    await server.stop()


@pytest.fixture
async def world(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[World]:
    w = World(tg, slack, tmp_path, ScriptedAgent())
    yield w
    await w.stop()
