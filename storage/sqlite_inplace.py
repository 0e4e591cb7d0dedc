"""SQLite driven on the event loop's own thread, for SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call on a worker thread and hands the result back to the event loop, and SQLAlchemy
makes about four such calls per statement: measured, the hand-overs cost more CPU than SQLite itself
(a one-row select ~0.55 ms that way against ~0.19 ms called directly). A statement on a local SQLite file
takes microseconds, so this connection calls sqlite3 directly, in place. It offers the part of
aiosqlite's connection that SQLAlchemy's adapter uses (handed over with `create_async_engine(...,
async_creator=...)`).

Calling in place means a wait for SQLite's write lock would stop the whole event loop, and if the
transaction holding the lock belonged to this process, it could never finish. So this process's writers
take turns on an asyncio lock (one per database file and event loop) before SQLite's lock: a transaction
holds it from BEGIN until it ends, a write outside a transaction for that statement. Only other
processes (a second `baton` command on the same file) can make SQLite itself wait, for as long as their
transaction lasts. Reads outside a transaction never wait in WAL mode and skip the turn.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# The turn of each database file, per event loop (asyncio locks belong to one loop).
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _turn(path: str) -> asyncio.Lock:
    per_loop = _turns.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(path, asyncio.Lock())


def _reads_only(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in ("SELECT", "PRAGMA")


class InPlaceCursor:
    def __init__(self, owner: InPlaceConnection) -> None:
        self._owner = owner
        self._cursor = owner._conn.cursor()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Any = ()) -> InPlaceCursor:
        await self._owner._call(sql, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InPlaceCursor:
        await self._owner._call(sql, self._cursor.executemany, sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()


class _Immediate:
    """What SQLAlchemy's adapter puts work on (aiosqlite's request queue, `_tx`): run it now."""

    def put_nowait(self, request: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InPlaceConnection:
    def __init__(self, path: str, *, timeout: float) -> None:
        self._path = path
        # isolation_level=None: SQLAlchemy, not the driver, decides when transactions begin (see storage.db).
        self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._tx = _Immediate()
        self._holding: asyncio.Lock | None = None

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def _call(self, sql: str, function: Callable[..., Any], *args: Any) -> Any:
        if self._holding is None and not (not self._conn.in_transaction and _reads_only(sql)):
            turn = _turn(self._path)
            await turn.acquire()
            self._holding = turn
        try:
            return function(*args)
        finally:
            self._settle_turn()

    def _settle_turn(self) -> None:
        """Give the turn back once SQLite's transaction has ended."""
        if self._holding is not None and not self._conn.in_transaction:
            self._release()

    def _release(self) -> None:
        turn = self._holding
        self._holding = None
        if turn is not None:
            turn.release()

    async def cursor(self) -> InPlaceCursor:
        return InPlaceCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InPlaceCursor:
        return await (await self.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._settle_turn()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._settle_turn()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close (SQLAlchemy's terminate too): SQLite rolls back whatever was open."""
        try:
            self._conn.close()
        finally:
            self._release()


async def connect(path: str, *, timeout: float = 30.0) -> InPlaceConnection:
    connection = InPlaceConnection(path, timeout=timeout)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={int(timeout * 1000)}"):
        connection._conn.execute(f"PRAGMA {pragma}")
    return connection
