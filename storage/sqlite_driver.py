"""aiosqlite, but statements run on the event loop: the SQLite driver Baton's engine is built on.

aiosqlite runs every sqlite3 call on its connection's worker thread and hands the result back to the
event loop, and SQLAlchemy's aiosqlite adapter makes four such calls per statement. A hop costs a queue
put, a thread wake-up and a loop wake-up: measured here, about 0.2 ms of CPU per statement, where the
statements of Baton's hot path take SQLite itself a few tens of microseconds. So a statement runs on the
loop, in the calling coroutine, whenever it is sure to be short, and on the worker thread when it may wait:

- **Lock waits** go to the worker thread. Connections have no busy timeout of their own, so a statement
  that finds the write lock taken fails at once (SQLITE_BUSY, having done nothing) and is run again on
  the worker thread with `busy_timeout` set: the loop never waits for another process's lock.
- **In this process, writers queue on an asyncio lock** (one per database file and event loop), taken
  before `BEGIN` and given back when the transaction ends, in order of arrival: they never meet SQLite's
  busy handler, which sleeps and retries. A writer that waits longer than the busy timeout gets the
  error SQLite would give ("database is locked").
- **Long reads** go to the worker thread. A SELECT run on the loop is interrupted after `READ_BUDGET`
  seconds (a progress handler; a SELECT interrupted has changed nothing) and run again there. Code that
  knows a read is heavy (full-text search) says so with `on_worker_thread()` and skips the first try.
- **WAL checkpoints** run on the worker thread. SQLite would run one inside whichever COMMIT crosses its
  threshold (it copies the WAL into the database file and syncs it); here the automatic checkpoint is
  off and every `COMMITS_PER_CHECKPOINT`th commit to a file runs a passive one on the worker thread.
- Once anything is queued on a connection's worker thread, its statements keep to that queue until the
  queue is empty, so the order of calls on a connection is the order they were made.

The cursor runs the statement and fetches every row in one call (SQLAlchemy's non-streaming aiosqlite
cursor fetches everything anyway; Baton streams no results), so fetches and close are served from memory.

PRIVATE API: this module, and only this module, relies on aiosqlite internals that are not part of its
documented API: `Connection._execute` (queue a function on the worker thread and await it),
`Connection._conn` (the sqlite3 connection) and `Connection._connection` (the same, None while not open),
`Connection._thread` (made a daemon, as SQLAlchemy does for
connections it opens itself) and `aiosqlite.context.contextmanager` (so `cursor()` supports both `await`
and `async with`). SQLAlchemy's own adapter also reaches into `_conn` and `_tx`, which this subclass
inherits unchanged. tests/storage/test_sqlite_driver.py checks these internals and the row/description/
rowcount/lastrowid semantics SQLAlchemy relies on, and fails loudly when an upgrade of aiosqlite changes
them.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager as sync_contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None
# What one statement leaves behind: (description, rows, rowcount, lastrowid).
_Outcome = tuple[_Description, list[Any], int, int | None]

READ_BUDGET = 0.005  # seconds a SELECT may run on the event loop before it is moved to the worker thread
_PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock
_ON_WORKER: ContextVar[bool] = ContextVar("baton_sqlite_on_worker", default=False)


@sync_contextmanager
def on_worker_thread() -> Iterator[None]:
    """Statements run inside go straight to the worker thread: reads known to be heavy."""
    token = _ON_WORKER.set(True)
    try:
        yield
    finally:
        _ON_WORKER.reset(token)


_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _is_read(sql: str) -> bool:
    """A statement that changes nothing, so interrupting it is safe (an interrupted write inside a
    transaction would roll the whole transaction back). In doubt, not a read: it is never interrupted."""
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head[:4] == "WITH" and not _WRITE_WORDS.search(sql))


def _starts_transaction(sql: str) -> bool:
    return sql.lstrip()[:5].upper() == "BEGIN"


# The in-process write lock of each database file, per event loop (tests run several loops).
_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


# Commits to each database file since its WAL was last checkpointed (see PrefetchingConnection.commit).
COMMITS_PER_CHECKPOINT = 200
_COMMITS: dict[str, int] = {}


def _count_commit(key: str) -> bool:
    """Count a commit; True when it is time to checkpoint."""
    count = _COMMITS.get(key, 0) + 1
    _COMMITS[key] = 0 if count >= COMMITS_PER_CHECKPOINT else count
    return count >= COMMITS_PER_CHECKPOINT


def _write_lock(key: str) -> asyncio.Lock:
    locks = _WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(key, asyncio.Lock())


class PrefetchingCursor(aiosqlite.Cursor):
    """An aiosqlite cursor whose execute is one call (on the loop, or on the worker thread) and whose
    fetches are in memory."""

    def __init__(self, conn: PrefetchingConnection) -> None:  # no sqlite3 cursor yet: made in the call
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn = conn
        self._owner = conn  # the same, typed as this module's connection
        self._cursor = None  # type: ignore[assignment]  # a live sqlite3 cursor never outlives one call
        self._rows: deque[Any] = deque()
        self._description: _Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1
        self._row_factory: Callable[[sqlite3.Cursor, sqlite3.Row], object] | None = None
        self._row_factory_set = False

    def _step(self, run: Callable[[sqlite3.Cursor], object]) -> _Outcome:
        """A fresh sqlite3 cursor, the statement, every row (on whichever thread calls it)."""
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

    async def _run(self, sql: str, run: Callable[[sqlite3.Cursor], object]) -> PrefetchingCursor:
        self._rows.clear()
        conn = self._owner
        begins = _starts_transaction(sql) and not conn.holds_write_lock
        if begins:
            await conn.take_write_lock()
        try:
            outcome = conn.on_loop(self._step, run, read=_is_read(sql))
            if outcome is None:
                outcome = await conn.on_worker(self._step, run)
        finally:
            if begins or conn.holds_write_lock:
                conn.release_write_lock_if_done()
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows.extend(rows)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PrefetchingCursor:
        params = [] if parameters is None else parameters
        return await self._run(sql, lambda cursor: cursor.execute(sql, params))  # type: ignore[arg-type]

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> PrefetchingCursor:
        rows = list(parameters)  # a retry on the worker thread must see every row again
        return await self._run(sql, lambda cursor: cursor.executemany(sql, rows))  # type: ignore[arg-type]

    async def executescript(self, sql_script: str) -> PrefetchingCursor:
        with on_worker_thread():  # scripts are migrations and set-up: never worth a try on the loop
            return await self._run(sql_script, lambda cursor: cursor.executescript(sql_script))

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
    """An aiosqlite connection that runs short statements on the event loop (see the module's docstring)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64, *,
                 busy_timeout: float = 5.0, lock_key: str | None = None) -> None:
        super().__init__(connector, iter_chunk_size)
        self._thread.daemon = True  # an engine that was never disposed must not keep the process alive
        self.busy_timeout = busy_timeout
        self._lock_key = lock_key  # the database file; None: an in-memory database, private to it
        self._write_lock: asyncio.Lock | None = None
        self.holds_write_lock = False
        # Calls queued on the worker thread and calls it has finished: the loop may run a statement
        # itself only when the two are equal (nothing of this connection is pending there).
        self._queued = 0
        self._finished = 0
        self._deadline: float | None = None  # while a read runs on the loop: when to interrupt it

    # --- where a call runs --------------------------------------------------------------------

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Every worker-thread call goes through here (aiosqlite's own too), so that it is counted."""
        self._queued += 1

        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1  # only the worker thread writes this; only the loop writes _queued

        return await super()._execute(counted)  # type: ignore[no-untyped-call]

    def on_loop(self, step: Callable[..., _Outcome], *args: Any, read: bool) -> _Outcome | None:
        """Run `step` here and now; None when it must go to the worker thread instead."""
        if _ON_WORKER.get() or self._queued != self._finished or self._connection is None:
            return None
        self._deadline = time.perf_counter() + READ_BUDGET if read else None
        try:
            return step(*args)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            # BUSY: the lock is taken and the statement did nothing. INTERRUPT (our deadline, reads only):
            # a SELECT stopped part-way, which changed nothing either. Both are run again on the worker.
            if code == sqlite3.SQLITE_BUSY or (code == sqlite3.SQLITE_INTERRUPT and self._deadline is not None):
                return None
            raise
        finally:
            self._deadline = None

    async def on_worker(self, step: Callable[..., _Outcome], *args: Any) -> _Outcome:
        """Run `step` on the worker thread, where it may wait up to the busy timeout for the lock."""
        result: _Outcome = await self._execute(self._waiting, step, *args)
        return result

    def _waiting(self, fn: Callable[..., Any], *args: Any) -> Any:
        raw = self._conn
        raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        try:
            return fn(*args)
        finally:
            raw.execute("PRAGMA busy_timeout = 0")

    def _progress(self) -> int:
        """SQLite's progress handler: non-zero interrupts the running statement."""
        deadline = self._deadline
        return 1 if deadline is not None and time.perf_counter() > deadline else 0

    def prepare(self) -> None:
        """Once open: no busy timeout of its own (see on_loop), no automatic checkpoint (see commit), and
        the progress handler."""
        self._conn.execute("PRAGMA busy_timeout = 0")
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._conn.set_progress_handler(self._progress, _PROGRESS_STEPS)

    # --- the in-process write lock ------------------------------------------------------------

    async def take_write_lock(self) -> None:
        if self._lock_key is None:
            return
        lock = self._write_lock = _write_lock(self._lock_key)
        try:
            async with asyncio.timeout(self.busy_timeout):  # (wait_for would start a task for every BEGIN)
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self.holds_write_lock = True

    def release_write_lock_if_done(self) -> None:
        """Give the lock back once this connection is no longer in a transaction."""
        if self._connection is None or not self._connection.in_transaction:
            self._give_back_write_lock()

    # --- the connection's own calls -----------------------------------------------------------

    @contextmanager
    async def cursor(self) -> PrefetchingCursor:  # type: ignore[override]
        return PrefetchingCursor(self)

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PrefetchingCursor:  # type: ignore[override]
        return await PrefetchingCursor(self).execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> PrefetchingCursor:  # type: ignore[override]
        return await PrefetchingCursor(self).executemany(sql, parameters)

    async def commit(self) -> None:
        try:
            if self.on_loop(self._commit_step, read=False) is None:  # waits (a rollback journal's lock): worker
                await self._execute(self._waiting, self._conn.commit)
        finally:
            self.release_write_lock_if_done()
        if self._lock_key is not None and _count_commit(self._lock_key):
            # The WAL's checkpoint (copying it into the database file, and syncing) on the worker thread,
            # instead of SQLite's automatic one inside whichever COMMIT crosses its threshold.
            await self._execute(self._checkpoint)

    def _commit_step(self) -> _Outcome:
        self._conn.commit()
        return None, [], -1, None

    def _checkpoint(self) -> None:
        cursor = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.fetchall()  # stepped to the end and closed: a statement left open would block the next COMMIT
        cursor.close()

    def _rollback_step(self) -> _Outcome:
        self._conn.rollback()
        return None, [], -1, None

    async def rollback(self) -> None:
        try:
            if self.on_loop(self._rollback_step, read=False) is None:  # never waits for a lock
                await self._execute(self._conn.rollback)
        finally:
            self.release_write_lock_if_done()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._give_back_write_lock()  # closed inside a transaction: SQLite rolled it back

    def stop(self) -> asyncio.Future[Any] | None:
        """What SQLAlchemy calls to terminate a connection it cannot close gracefully (a cancelled task, a
        connection collected unreturned): the lock must not stay with a connection that is going away."""
        try:
            return super().stop()
        finally:
            self._give_back_write_lock()

    def _give_back_write_lock(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            assert self._write_lock is not None
            self._write_lock.release()


def connect(database: str | Path, *, timeout: float = 5.0, **kwargs: Any) -> PrefetchingConnection:
    """Like `aiosqlite.connect`: `kwargs` go to `sqlite3.connect`, which runs on the worker thread;
    `timeout` is the busy timeout of statements run there."""
    location = str(database)
    kwargs.setdefault("check_same_thread", False)  # statements run on the loop's thread and on the worker's
    memory = location == ":memory:" or location.startswith("file::memory:") or "mode=memory" in location
    return PrefetchingConnection(lambda: sqlite3.connect(location, timeout=0, **kwargs), busy_timeout=timeout,
                                 lock_key=None if memory else str(Path(location).resolve()))


def creator(cargs: Sequence[Any], cparams: dict[str, Any]) -> Callable[[], Awaitable[PrefetchingConnection]]:
    """An `async_creator` for `create_async_engine` opening what the dialect's connect arguments name."""

    async def open_connection() -> PrefetchingConnection:
        connection = connect(*cargs, **cparams)
        await connection  # starts its worker thread and opens the database there
        connection.prepare()
        return connection

    return open_connection
