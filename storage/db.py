"""Engine and sessions: SQLite (WAL, immediate write transactions) by default, PostgreSQL to scale out."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import direct, sqlite_driver

# session.info keys: the outbox lanes a transaction wrote to; what to call once it has committed; its
# deferred writes.
ENQUEUED = "baton.enqueued"
AFTER_COMMIT = "baton.after_commit"
BEFORE_COMMIT = "baton.before_commit"
DEFERRED = "baton.deferred"
_BEGIN = "BEGIN IMMEDIATE"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once the transaction `session` is in has committed (not at all if it rolls back)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault(AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def defer(session: AsyncSession, statement: direct.Direct, row: Mapping[str, Any]) -> None:
    """Run `statement` with `row` later in this transaction: before it commits, or when `write_deferred` is
    called (by any read of what such writes change), together with the other rows deferred for the same
    statement, as one statement (on PostgreSQL, asyncpg pipelines its rows in one round trip). For writes
    that nothing in the transaction reads back except through a function that writes them first: the
    dispatcher settles and claims several lanes in one transaction, and written one by one these writes
    were a third of a relayed message's statements."""
    deferred: dict[direct.Direct, list[Mapping[str, Any]]] | None = session.info.get(DEFERRED)
    if deferred is None:
        deferred = session.info[DEFERRED] = {}
        before_commit(session, write_deferred)
    deferred.setdefault(statement, []).append(row)


async def write_deferred(session: AsyncSession) -> None:
    """Write what this transaction deferred so far: statement by statement in the order each was first
    deferred, each statement's rows in the order given."""
    deferred = session.info.get(DEFERRED)
    while deferred:
        statement = next(iter(deferred))
        await statement.execute_many(session, deferred.pop(statement))


def before_commit(session: AsyncSession, callback: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Await `callback(session)` as the transaction's last step before it commits (not when it fails)."""
    callbacks: list[Callable[[AsyncSession], Awaitable[None]]] = session.info.setdefault(BEFORE_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def create_engine(url: str, *, busy_timeout: float = 30.0) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _server_engine(url, on_asyncpg=parsed.get_driver_name() == "asyncpg")

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # The connection arguments SQLAlchemy would pass to aiosqlite.connect, given to our driver instead
    # (short statements on the event loop, waits on a worker thread: storage/sqlite_driver.py); the dialect
    # is the URL's, unchanged. `timeout` is the busy timeout of what waits on the worker thread.
    cargs, cparams = parsed.get_dialect()().create_connect_args(parsed)
    engine = create_async_engine(url, async_creator=sqlite_driver.creator(cargs, {**cparams, "timeout": busy_timeout}),
                                 pool_reset_on_return=None)  # see _on_return
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "reset")
    def _on_return(dbapi_conn: Any, _record: Any, state: PoolResetState) -> None:
        # The pool's default reset rolls back every connection it gets back, even after a commit: a
        # statement per transaction for nothing. Roll back only a connection still in a transaction
        # (it would hold the write lock).
        if state.asyncio_safe and not state.terminate_only and dbapi_conn.driver_connection.in_transaction:
            dbapi_conn.rollback()

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")  # (the busy timeout is the driver's: storage/sqlite_driver.py)
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction takes the write lock up front: a deferred transaction that reads and then
        # writes can fail with "database is locked" instead of waiting its turn. On the DBAPI cursor, not
        # through `exec_driver_sql`: a quarter of an empty transaction's cost was that statement's
        # execution context and result.
        for listener in direct.on_statement:
            listener(_BEGIN)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(_BEGIN)
        except sqlite3.Error as error:  # raised as SQLAlchemy would ("database is locked": OperationalError)
            raise DBAPIError.instance(_BEGIN, (), error, sqlite3.Error, dialect=conn.dialect) from error
        finally:
            cursor.close()

    return engine


def _server_engine(url: str, *, on_asyncpg: bool) -> AsyncEngine:
    """A pooled engine that never hands out a connection the server has already closed (a restart, a failover,
    an idle timeout). SQLAlchemy's pre-ping asks the server, three round trips per checkout on asyncpg (it
    wraps its ping in a transaction, for pgbouncer); asyncpg already knows, for free, once the server has
    closed the socket, so on asyncpg the checkout asks it instead. A connection cut without the socket
    closing fails its first statement like any connection cut mid-transaction."""
    engine = create_async_engine(url, pool_pre_ping=not on_asyncpg, pool_size=10, max_overflow=10)
    if on_asyncpg:
        @event.listens_for(engine.sync_engine, "checkout")
        def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            if dbapi_conn.driver_connection.is_closed():
                raise DisconnectionError("the server closed this pooled connection")  # the pool takes another

    return engine


class Database:
    """Owns the engine; hands out sessions whose transaction commits on success."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = create_engine(url, busy_timeout=busy_timeout)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Told, after each commit, which outbox lanes got rows in it, as (destination, lane) pairs (see
        # storage.outbox.enqueue): the composition root hints exactly those dispatchers, whoever wrote them.
        self.on_enqueued: Callable[[set[tuple[str, str]]], None] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            async with session.begin():
                yield session
                for last_step in session.info.pop(BEFORE_COMMIT, ()):
                    await last_step(session)
            enqueued = session.info.get(ENQUEUED)
            if enqueued and self.on_enqueued is not None:
                self.on_enqueued(enqueued)
            for callback in session.info.get(AFTER_COMMIT, ()):
                callback()

    async def upgrade(self) -> None:
        from storage.migrate import upgrade

        await upgrade(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
