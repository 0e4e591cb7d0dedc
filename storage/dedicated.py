"""One PostgreSQL connection kept by a process for its own bookkeeping, spoken to through asyncpg directly.

Lane and leader locks (storage/coordination.py) and shared send budgets (storage/pacing.py) each hold one
such connection: advisory locks belong to a database session, and a budget's reservation is one statement
that must not wait for a pooled connection. Both run a few fixed statements, in autocommit, several
times per relayed message, with nothing for the ORM or SQLAlchemy's execution layer to do: through
SQLAlchemy each cost about twice the CPU of the driver's own call (measured 280-370 µs against 130-175 µs
for a one-row select here). So the connection comes from the engine (its URL, connect arguments and
pool), in autocommit, and statements go to its asyncpg connection.

Any failure forgets the connection (invalidated, so the pool does not hand it out again) and is raised;
the next call connects afresh. What the caller held on it (its locks) is gone with it: the caller decides
what that means.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import direct
from storage.db import Database


class DedicatedConnection:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under _conn
        # One conversation with the connection at a time.
        self._lock = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """The rows of one statement (asyncpg's $1, $2… placeholders), run in autocommit."""
        for listener in direct.on_statement:  # counted with the rest (bench/counted.py)
            listener(sql)
        async with self._lock:
            try:
                if self._driver is None:
                    self._conn = await self.db.engine.connect()  # held at once: _forget closes it on any failure
                    await self._conn.execution_options(isolation_level="AUTOCOMMIT")
                    self._driver = (await self._conn.get_raw_connection()).driver_connection
                return [tuple(row) for row in await self._driver.fetch(sql, *args)]
            except Exception:
                await self._forget()
                raise

    async def close(self) -> None:
        """Ends the database session (PostgreSQL then releases every advisory lock it held). The connection is
        closed, not handed back to the pool: a pooled connection would keep its session, and the locks."""
        async with self._lock:
            await self._forget()

    async def _forget(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already gone: nothing more to release
                await conn.invalidate()  # closes the driver's connection, so the pool never reuses it
            with contextlib.suppress(Exception):
                await conn.close()
