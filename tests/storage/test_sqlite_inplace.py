"""SQLite called on the event loop's thread: writers of one process take turns without stopping the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from tests.support import databases

pytestmark = pytest.mark.skipif(databases.on_postgres(), reason="SQLite's own driver path")


async def _dbs(tmp_path: Path) -> tuple[Database, Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inplace.db'}"
    first, second = Database(url), Database(url)  # two engines on one file, as a test or CLI may have
    async with first.transaction() as session:
        await session.exec(text("CREATE TABLE t (v INTEGER)"))  # type: ignore[call-overload]
    return first, second


async def _values(db: Database) -> list[int]:
    async with db.engine.connect() as conn:
        return [int(r[0]) for r in (await conn.execute(text("SELECT v FROM t ORDER BY v"))).all()]


async def test_a_second_writer_waits_its_turn_while_the_first_awaits_inside_its_transaction(
        tmp_path: Path) -> None:
    first, second = await _dbs(tmp_path)
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with first.transaction() as session:
            await session.exec(text("INSERT INTO t VALUES (1)"))  # type: ignore[call-overload]
            inside.set()
            await go_on.wait()  # the loop must keep running for this to end
            await session.exec(text("INSERT INTO t VALUES (2)"))  # type: ignore[call-overload]

    async def waiter() -> None:
        await inside.wait()
        async with second.transaction() as session:
            await session.exec(text("INSERT INTO t VALUES (3)"))  # type: ignore[call-overload]

    try:
        tasks = [asyncio.create_task(holder()), asyncio.create_task(waiter())]
        await inside.wait()
        await asyncio.sleep(0.05)
        assert not tasks[1].done()  # the second writer waits for its turn, not for SQLite's busy timeout
        go_on.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert await _values(first) == [1, 2, 3]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_failed_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    first, second = await _dbs(tmp_path)
    try:
        with pytest.raises(RuntimeError):
            async with first.transaction() as session:
                await session.exec(text("INSERT INTO t VALUES (1)"))  # type: ignore[call-overload]
                raise RuntimeError("boom")
        async with second.transaction() as session:
            await session.exec(text("INSERT INTO t VALUES (2)"))  # type: ignore[call-overload]
        assert await asyncio.wait_for(_values(first), 5) == [2]
    finally:
        await first.dispose()
        await second.dispose()
