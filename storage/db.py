"""Engine and sessions: SQLite (WAL, immediate write transactions) by default, PostgreSQL to scale out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_inplace

# session.info key: the outbox lanes a transaction wrote to.
ENQUEUED = "baton.enqueued"


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)

    path = parsed.database or ":memory:"
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).resolve())  # one file, one name: the writers' turn is kept per file
    # Called in place, not on aiosqlite's thread: see storage.sqlite_inplace.
    engine = create_async_engine(url, async_creator=lambda: sqlite_inplace.connect(path, timeout=30))
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction takes the write lock up front: a deferred transaction that reads and then
        # writes can fail with "database is locked" instead of waiting its turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Owns the engine; hands out sessions whose transaction commits on success."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
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
            enqueued = session.info.get(ENQUEUED)
            if enqueued and self.on_enqueued is not None:
                self.on_enqueued(enqueued)

    async def upgrade(self) -> None:
        from storage.migrate import upgrade

        await upgrade(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
