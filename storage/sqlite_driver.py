"""aiosqlite with one thread hop per statement: the SQLite driver Baton's engine is built on.

aiosqlite runs every sqlite3 call on its connection's worker thread and hands the result back to the
event loop; SQLAlchemy's aiosqlite adapter makes four such calls per statement (cursor(), execute(),
fetchall(), close()). Each hop costs a queue put, a thread wake-up and a loop wake-up, and on Baton's
hot path the hops cost more CPU than SQLite does. Here `cursor()` makes no call at all, and `execute`
creates the sqlite3 cursor, runs the statement, captures description/rowcount/lastrowid, fetches every
row and closes the cursor in ONE call on the worker thread; fetch*() and close() are then served from
memory. SQLite still never runs on the event loop: a statement waiting for another process's write lock
(`PRAGMA busy_timeout`) waits on the worker thread, and the loop keeps serving everything else.

Fetching every row at execute is what SQLAlchemy's (non-streaming) aiosqlite cursor does anyway; Baton
streams no results.

PRIVATE API: this module, and only this module, relies on aiosqlite internals that are not part of its
documented API: `Connection._execute` (queue a function on the worker thread and await it),
`Connection._conn` (the sqlite3 connection, used on the worker thread only), `Connection._thread`
(made a daemon, as SQLAlchemy does for connections it opens itself) and `aiosqlite.context.
contextmanager` (so `cursor()` supports both `await` and `async with`). SQLAlchemy's own adapter also
reaches into `_conn` and `_tx`, which this subclass inherits unchanged. tests/storage/
test_sqlite_driver.py checks these internals and the row/description/rowcount/lastrowid semantics
SQLAlchemy relies on, and fails loudly when an upgrade of aiosqlite changes them.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None
# What one statement leaves behind: (description, rows, rowcount, lastrowid).
_Outcome = tuple[_Description, list[Any], int, int | None]


class PrefetchingCursor(aiosqlite.Cursor):
    """An aiosqlite cursor whose execute is one worker-thread call and whose fetches are in memory."""

    def __init__(self, conn: PrefetchingConnection) -> None:  # no sqlite3 cursor yet: made in the hop
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn = conn
        self._cursor = None  # type: ignore[assignment]  # a live sqlite3 cursor never outlives one call
        self._rows: deque[Any] = deque()
        self._description: _Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1
        self._row_factory: Callable[[sqlite3.Cursor, sqlite3.Row], object] | None = None
        self._row_factory_set = False

    def _on_worker(self, run: Callable[[sqlite3.Cursor], object]) -> _Outcome:
        """Runs on the connection's worker thread: a fresh sqlite3 cursor, the statement, every row."""
        cursor = self._conn._conn.cursor()
        try:
            if self._row_factory_set:
                cursor.row_factory = self._row_factory  # type: ignore[assignment]
            run(cursor)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            # After the rows are fetched: sqlite3 counts a RETURNING statement's rows as they are stepped.
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def _run(self, run: Callable[[sqlite3.Cursor], object]) -> PrefetchingCursor:
        self._rows.clear()
        self._description, rows, self._rowcount, self._lastrowid = await self._conn._execute(  # type: ignore[no-untyped-call]
            self._on_worker, run)
        self._rows.extend(rows)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PrefetchingCursor:
        params = [] if parameters is None else parameters
        return await self._run(lambda cursor: cursor.execute(sql, params))  # type: ignore[arg-type]

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> PrefetchingCursor:
        return await self._run(lambda cursor: cursor.executemany(sql, parameters))  # type: ignore[arg-type]

    async def executescript(self, sql_script: str) -> PrefetchingCursor:
        return await self._run(lambda cursor: cursor.executescript(sql_script))

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self._arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Any:
        return self._description

    @property
    def row_factory(self) -> Any:
        return self._row_factory if self._row_factory_set else self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._row_factory, self._row_factory_set = factory, True

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn._conn


class PrefetchingConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one worker-thread call per statement."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._thread.daemon = True  # an engine that was never disposed must not keep the process alive

    @contextmanager
    async def cursor(self) -> PrefetchingCursor:  # type: ignore[override]
        return PrefetchingCursor(self)

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PrefetchingCursor:  # type: ignore[override]
        return await PrefetchingCursor(self).execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> PrefetchingCursor:  # type: ignore[override]
        return await PrefetchingCursor(self).executemany(sql, parameters)


def connect(database: str | Path, **kwargs: Any) -> PrefetchingConnection:
    """Like `aiosqlite.connect`: `kwargs` go to `sqlite3.connect`, which runs on the worker thread."""
    location = str(database)
    return PrefetchingConnection(lambda: sqlite3.connect(location, **kwargs))


def creator(cargs: Sequence[Any], cparams: dict[str, Any]) -> Callable[[], Awaitable[PrefetchingConnection]]:
    """An `async_creator` for `create_async_engine` opening what the dialect's connect arguments name."""

    async def open_connection() -> PrefetchingConnection:
        connection = connect(*cargs, **cparams)
        await connection  # starts its worker thread and opens the database there
        return connection

    return open_connection
