"""Send budgets shared by every Baton instance on one PostgreSQL.

Each budget is one row holding its "theoretical arrival time" (GCRA, the algorithm behind most rate
limiters): the moment its next send may leave. Taking a slot is one statement that moves that moment
one interval on and says how long the caller must wait for the slot it got, so instances never read
and write separately (no race), slots are handed out in the order asked, and the database's clock is
the only clock. A caller that gives up after reserving wastes its slot, which only errs on the slow side.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

_NOW = "extract(epoch from clock_timestamp())"
# `b.tat` in RETURNING is the row as written: the new slot's time.
_RESERVE = text(f"""
INSERT INTO pacing_budget AS b (key, tat) VALUES (:key, {_NOW} + :interval)
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, {_NOW}) + :interval
RETURNING b.tat, GREATEST(0, b.tat - {_NOW} - :burst * :interval)
""")
_PEEK = text(f"SELECT GREATEST(0, GREATEST(tat, {_NOW}) + :interval - {_NOW} - :burst * :interval) "
             "FROM pacing_budget WHERE key = :key")


class SharedBudgets:
    """Reservations on one autocommit connection per process: one round trip each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def reserve(self, key: str, interval: float, burst: int) -> tuple[float, float]:
        """A slot in `key`'s budget (`burst` at once, then one per `interval` seconds): (the slot's time,
        seconds to wait for it)."""
        row = await self._run(_RESERVE, key=key, interval=interval, burst=burst)
        assert row is not None
        return float(row[0]), float(row[1])

    async def would_wait(self, key: str, interval: float, burst: int) -> float:
        """Seconds a reservation now would wait, without taking one."""
        row = await self._run(_PEEK, key=key, interval=interval, burst=burst)
        return float(row[0]) if row is not None else 0.0

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _run(self, stmt: object, **params: object) -> tuple[float, ...] | None:
        async with self._lock:
            try:
                if self._conn is None:
                    self._conn = await (await self.db.engine.connect()).execution_options(
                        isolation_level="AUTOCOMMIT")
                result = await self._conn.execute(stmt, params)  # type: ignore[call-overload]
                row = result.first()
                return tuple(row) if row is not None else None
            except Exception:
                conn, self._conn = self._conn, None
                if conn is not None:
                    await conn.invalidate()
                raise
