"""storage/sqlite_driver.py: one worker-thread call per statement, the results SQLAlchemy relies on, and
the aiosqlite internals it leans on (these tests fail loudly when an aiosqlite upgrade changes them)."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
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


def test_the_aiosqlite_internals_the_driver_uses_are_there() -> None:
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)
    assert list(inspect.signature(aiosqlite.Connection._execute).parameters) == ["self", "fn", "args", "kwargs"]
    assert isinstance(aiosqlite.Connection.__dict__["_conn"], property)
    assert callable(aiosqlite.context.contextmanager)
    connection = sqlite_driver.connect(":memory:")
    assert isinstance(connection._thread, threading.Thread) and connection._thread.daemon
    assert isinstance(connection._iter_chunk_size, int)
    assert hasattr(connection, "_tx")  # SQLAlchemy's adapter sets isolation_level through it


class _CountingConnection(sqlite_driver.PrefetchingConnection):
    """Counts the calls made on the worker thread (each one a hop to it and back)."""

    hops = 0

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        _CountingConnection.hops += 1
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _counting_engine(path: Path) -> AsyncEngine:
    async def open_connection() -> sqlite_driver.PrefetchingConnection:
        connection = _CountingConnection(lambda: sqlite3.connect(str(path), check_same_thread=False))
        await connection
        return connection

    return create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=open_connection)


async def test_a_statement_is_one_call_on_the_worker_thread(tmp_path: Path) -> None:
    engine = _counting_engine(tmp_path / "hops.db")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        async with engine.connect() as conn:
            before = _CountingConnection.hops
            rows = (await conn.execute(text("SELECT v FROM t"))).all()
            assert rows == []
            assert _CountingConnection.hops - before == 1  # not cursor + execute + fetchall + close
            before = _CountingConnection.hops
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert _CountingConnection.hops - before == 1
    finally:
        await engine.dispose()


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
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout=30)
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (v TEXT)")
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
    finally:
        await db.dispose()


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
