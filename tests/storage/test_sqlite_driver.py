"""storage/sqlite_driver.py: short statements on the loop, waits and long reads on the worker thread, the
in-process write lock, the results SQLAlchemy relies on, and the aiosqlite internals it leans on (these
tests fail loudly when an aiosqlite upgrade changes them)."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import aiosqlite.context
import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import sqlite_driver
from storage.db import Database


@asynccontextmanager
async def _database(path: Path, table: str, *, busy_timeout: float = 30.0) -> AsyncIterator[Database]:
    """A Database on `path` with `table` (its column list) created as t, disposed of afterwards."""
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout=busy_timeout)
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f"CREATE TABLE t ({table})")
        yield db
    finally:
        await db.dispose()


def test_the_aiosqlite_internals_the_driver_uses_are_there() -> None:
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)
    assert list(inspect.signature(aiosqlite.Connection._execute).parameters) == ["self", "fn", "args", "kwargs"]
    assert isinstance(aiosqlite.Connection.__dict__["_conn"], property)
    assert callable(aiosqlite.context.contextmanager)
    connection = sqlite_driver.connect(":memory:")
    assert isinstance(connection._thread, threading.Thread) and connection._thread.daemon
    assert isinstance(connection._iter_chunk_size, int)
    assert hasattr(connection, "_tx")  # SQLAlchemy's adapter sets isolation_level through it
    assert connection._connection is None  # not open yet: statements must not be tried on the loop
    assert callable(aiosqlite.Connection.stop)  # what SQLAlchemy calls to terminate a connection


class _CountingConnection(sqlite_driver.PrefetchingConnection):
    """Counts the calls made on the worker thread (each one a hop to it and back)."""

    hops = 0

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        _CountingConnection.hops += 1
        return await super()._execute(fn, *args, **kwargs)


def _counting_engine(path: Path, busy_timeout: float = 5.0) -> AsyncEngine:
    async def open_connection() -> sqlite_driver.PrefetchingConnection:
        connection = _CountingConnection(lambda: sqlite3.connect(str(path), timeout=0, check_same_thread=False),
                                         busy_timeout=busy_timeout, lock_key=str(path))
        await connection
        connection.prepare()
        return connection

    return create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=open_connection)


async def test_short_statements_run_on_the_loop_and_a_transaction_makes_one_call_on_the_worker(
        tmp_path: Path) -> None:
    engine = _counting_engine(tmp_path / "hops.db")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        async with engine.connect() as conn:
            before = _CountingConnection.hops
            assert (await conn.execute(text("SELECT v FROM t"))).all() == []
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert [tuple(r) for r in (await conn.execute(text("SELECT id, v FROM t"))).all()] == [(1, "a")]
            await conn.commit()
            assert _CountingConnection.hops - before == 0  # BEGIN, the three statements, COMMIT: none
    finally:
        await engine.dispose()


async def test_the_wal_is_checkpointed_on_the_worker_thread_every_so_many_commits(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = _counting_engine(path)
    try:
        async with engine.begin() as conn:  # commit 1
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.exec_driver_sql("CREATE TABLE t (v TEXT)")
        for i in range(sqlite_driver.COMMITS_PER_CHECKPOINT - 2):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (?)", (f"row {i}",))
        # Nothing is checkpointed along the way (no automatic checkpoint inside a COMMIT on the loop):
        # the database file still lacks the table's pages, which are all in the WAL.
        size, before = path.stat().st_size, _CountingConnection.hops
        async with engine.begin() as conn:  # the last commit before a checkpoint is due
            await conn.exec_driver_sql("INSERT INTO t VALUES ('last')")
        assert _CountingConnection.hops - before == 1  # the checkpoint, on the worker thread
        assert path.stat().st_size > size  # the WAL was copied into the database file
        for i in range(3):  # the checkpoint left nothing open on its connection that would block a COMMIT
            async with engine.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (?)", (f"after {i}",))
        async with engine.connect() as conn:
            count = (await conn.exec_driver_sql("SELECT count(*) FROM t")).scalar()
            assert count == sqlite_driver.COMMITS_PER_CHECKPOINT + 2
    finally:
        await engine.dispose()


async def test_a_long_read_is_moved_off_the_loop_and_the_loop_keeps_running(tmp_path: Path) -> None:
    engine = _counting_engine(tmp_path / "long.db")
    # About a second of SQLite work: far beyond the budget a read gets on the loop.
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
            "SELECT count(*) FROM n")
    try:
        async with engine.connect() as conn:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            clock = asyncio.create_task(ticker())
            before = _CountingConnection.hops
            started = asyncio.get_running_loop().time()
            assert (await conn.execute(text(slow))).scalar() == 3000000
            elapsed = asyncio.get_running_loop().time() - started
            clock.cancel()
            assert _CountingConnection.hops - before == 1  # interrupted on the loop, run again on the worker
            # The loop served the ticker all along: at least half of the ticks it would get when idle.
            assert ticks >= elapsed / 0.005 / 2, (ticks, elapsed)
            with sqlite_driver.on_worker_thread():  # known to be heavy: no first try on the loop
                before = _CountingConnection.hops
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
                assert _CountingConnection.hops - before == 1
    finally:
        await engine.dispose()


async def test_calls_on_one_connection_keep_their_order_across_the_two_threads(tmp_path: Path) -> None:
    connection = sqlite_driver.connect(tmp_path / "order.db")
    await connection
    connection.prepare()
    try:
        await connection.execute("CREATE TABLE t (v TEXT)")
        done: list[str] = []

        async def read() -> None:
            with sqlite_driver.on_worker_thread():
                await connection.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                         "WHERE i < 300000) SELECT count(*) FROM n")
            done.append("read")

        async def write() -> None:
            await connection.execute("INSERT INTO t VALUES ('x')")
            done.append("write")

        first = asyncio.create_task(read())
        await asyncio.sleep(0)  # the read is queued on the worker thread
        await asyncio.gather(first, write())
        assert done == ["read", "write"]  # the write waited its turn behind the queued read
    finally:
        await connection.close()


async def test_writers_in_one_process_queue_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    async with _database(path, "v INTEGER", busy_timeout=0.2) as db:
        first_holds, first_may_go = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                first_holds.set()
                await asyncio.sleep(0.1)  # within the busy timeout
                await first_may_go.wait()
                await conn.exec_driver_sql("INSERT INTO t VALUES (2)")

        async def second() -> None:
            await first_holds.wait()
            async with db.engine.begin() as conn:  # waits on the in-process lock, then writes
                await conn.exec_driver_sql("INSERT INTO t VALUES (3)")

        one = asyncio.create_task(first())
        two = asyncio.create_task(second())
        await first_holds.wait()
        first_may_go.set()
        await asyncio.gather(one, two)
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT v FROM t")).scalars().all() == [1, 2, 3]

        # A writer held up longer than the busy timeout gets SQLite's own answer.
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (4)")
            with pytest.raises(exc.OperationalError, match="database is locked"):
                async with db.engine.begin() as other:
                    await other.exec_driver_sql("INSERT INTO t VALUES (5)")
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT v FROM t")).scalars().all() == [1, 2, 3, 4]


async def test_rows_counts_and_ids_are_what_sqlalchemy_expects(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'semantics.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
            inserted = await conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
            assert inserted.lastrowid == 1 and inserted.rowcount == 1
            returned = await conn.exec_driver_sql("INSERT INTO t (v) VALUES ('b'), ('c') RETURNING id, v")
            assert returned.keys() == ["id", "v"] and [tuple(r) for r in returned.all()] == [(2, "b"), (3, "c")]
            many = await conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", [("d",), ("e",), ("f",)])
            assert many.rowcount == 3
            updated = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > :k"), {"k": 3})
            assert updated.rowcount == 3
            empty = await conn.execute(text("SELECT id, v FROM t WHERE id < 0"))
            assert empty.keys() == ["id", "v"] and empty.all() == []
            some = await conn.execute(text("SELECT id FROM t ORDER BY id"))
            assert some.fetchone() == (1,) and [tuple(r) for r in some.fetchmany(2)] == [(2,), (3,)]
            assert len(some.fetchall()) == 3
            updated_returning = await conn.execute(text("UPDATE t SET v = 'x' || v WHERE id <= 2 RETURNING id"))
            assert sorted(updated_returning.scalars()) == [1, 2]
            with pytest.raises(exc.IntegrityError):
                await conn.exec_driver_sql("INSERT INTO t (v) VALUES ('c')")
    finally:
        await db.dispose()


async def test_waiting_for_another_process_s_write_lock_does_not_stop_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    async with _database(path, "v TEXT") as db:
        holder = sqlite3.connect(path, isolation_level=None)  # another writer, holding the lock
        holder.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with db.engine.begin() as conn:  # BEGIN IMMEDIATE waits for the lock (busy_timeout)
                await conn.exec_driver_sql("INSERT INTO t VALUES ('after the lock')")

        writer = asyncio.create_task(write())
        # The loop runs this timer while the writer waits. A statement run on the loop would block it
        # until busy_timeout ran out, and the writer would fail with "database is locked".
        done, _ = await asyncio.wait({writer}, timeout=0.3)
        assert not done
        holder.execute("COMMIT")
        await writer
        holder.close()
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT v FROM t")).scalars().all() == ["after the lock"]


def test_the_engine_opens_connections_with_the_dialect_s_arguments(tmp_path: Path) -> None:
    url = make_url(f"sqlite+aiosqlite:///{tmp_path / 'args.db'}")
    cargs, cparams = url.get_dialect()().create_connect_args(url)
    assert cargs == [str(tmp_path / "args.db")]  # what Database hands the driver (with its busy timeout)
    assert set(cparams) <= {"check_same_thread", "uri", "timeout", "detect_types", "isolation_level",
                            "cached_statements"}


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "returned.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back: the lock
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the returned connection still held it
        other.execute("ROLLBACK")
        other.close()
    finally:
        await db.dispose()


async def test_a_writer_cancelled_inside_its_transaction_gives_the_lock_back(tmp_path: Path) -> None:
    async with _database(tmp_path / "cancel.db", "v TEXT", busy_timeout=1.0) as db:
        holding = asyncio.Event()

        async def stuck_writer() -> None:
            async with db.transaction() as session:
                await (await session.connection()).exec_driver_sql("INSERT INTO t VALUES ('rolled back')")
                holding.set()
                await asyncio.sleep(3600)  # holds the write lock until cancelled

        task = asyncio.create_task(stuck_writer())
        await holding.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db.transaction() as session:  # would fail with "database is locked" after 1 s
            await (await session.connection()).exec_driver_sql("INSERT INTO t VALUES ('next')")
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT v FROM t")).scalars().all() == ["next"]
