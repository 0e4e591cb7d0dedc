"""Shared fixtures: the sandbox servers on port 0 and a Baton wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support.agents import ScriptedAgent
from tests.support.harness import ADMIN, ALICE, BOB, CHANNEL, EVE, World


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
