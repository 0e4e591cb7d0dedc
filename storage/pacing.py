"""Send budgets shared by every Baton instance on one PostgreSQL.

Each budget is one row holding its "theoretical arrival time" (GCRA, the algorithm behind most rate
limiters): the moment its next send may leave. Taking a slot is one statement that moves that moment
one interval on and says how long the caller must wait for the slot it got, so instances never read
and write separately (no race), slots are handed out in the order asked, and the database's clock is
the only clock. A caller that gives up after reserving wastes its slot, which only errs on the slow side.
"""

from __future__ import annotations

import logging

from storage.db import Database
from storage.dedicated import DedicatedConnection

log = logging.getLogger(__name__)

_NOW = "extract(epoch from clock_timestamp())"
# `b.tat` in RETURNING is the row as written: the new slot's time.
# $1 the key, $2 the interval in seconds, $3 the burst.
_RESERVE = f"""
INSERT INTO pacing_budget AS b (key, tat) VALUES ($1, {_NOW} + $2::float8)
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, {_NOW}) + $2::float8
RETURNING b.tat, GREATEST(0, b.tat - {_NOW} - $3::int * $2::float8)
"""
_PEEK = (f"SELECT GREATEST(0, GREATEST(tat, {_NOW}) + $2::float8 - {_NOW} - $3::int * $2::float8) "
         "FROM pacing_budget WHERE key = $1")


class SharedBudgets:
    """Reservations on one autocommit connection per process (storage/dedicated.py): one round trip each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn = DedicatedConnection(db)

    async def reserve(self, key: str, interval: float, burst: int) -> tuple[float, float]:
        """A slot in `key`'s budget (`burst` at once, then one per `interval` seconds): (the slot's time,
        seconds to wait for it)."""
        [row] = await self._conn.fetch(_RESERVE, key, float(interval), int(burst))
        return float(row[0]), float(row[1])

    async def would_wait(self, key: str, interval: float, burst: int) -> float:
        """Seconds a reservation now would wait, without taking one."""
        rows = await self._conn.fetch(_PEEK, key, float(interval), int(burst))
        return float(rows[0][0]) if rows else 0.0

    async def close(self) -> None:
        await self._conn.close()
