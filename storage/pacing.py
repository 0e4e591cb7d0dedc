"""Send budgets shared by every Baton instance on one PostgreSQL.

Each budget is one row holding its "theoretical arrival time" (GCRA, the algorithm behind most rate
limiters): the moment its next send may leave. Taking a slot is one statement that moves that moment
one interval on and says how long the caller must wait for the slot it got, so instances never read
and write separately (no race), slots are handed out in the order asked, and the database's clock is
the only clock. A caller that gives up after reserving wastes its slot, which only errs on the slow side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import NamedTuple

from storage.db import Database
from storage.dedicated import DedicatedConnection

log = logging.getLogger(__name__)

# now() is the statement's start (each statement is its own transaction here): one instant for the whole
# statement, so that a row's new time minus it is exactly the interval(s) asked for.
_NOW = "extract(epoch from now())"
# One statement for every reservation waiting: per key ($1), how many slots ($2), the interval ($3). A key
# asked for n times moves on n intervals; `b.tat` in RETURNING is the row as written, the last slot's time.
_RESERVE = f"""
INSERT INTO pacing_budget AS b (key, tat)
SELECT k, {_NOW} + n * i FROM unnest($1::text[], $2::int[], $3::float8[]) AS asked(k, n, i) ORDER BY k
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, {_NOW}) + (EXCLUDED.tat - {_NOW})
RETURNING b.key, b.tat, {_NOW}
"""
_PEEK = (f"SELECT GREATEST(0, GREATEST(tat, {_NOW}) + $2::float8 - {_NOW} - $3::int * $2::float8) "
         "FROM pacing_budget WHERE key = $1")


class _Ask(NamedTuple):
    key: str
    interval: float
    burst: int
    slot: asyncio.Future[tuple[float, float]]


class SharedBudgets:
    """Reservations on one autocommit connection per process (storage/dedicated.py). Those asked for while
    a statement runs are taken together by the next one: with many lanes sending at once, one round trip
    serves them all instead of one each (each was a round trip through the one connection, in turn)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn = DedicatedConnection(db)
        self._asked: list[_Ask] = []
        self._taking: asyncio.Task[None] | None = None

    async def reserve(self, key: str, interval: float, burst: int) -> tuple[float, float]:
        """A slot in `key`'s budget (`burst` at once, then one per `interval` seconds): (the slot's time,
        seconds to wait for it). Slots of one key are handed out in the order asked."""
        slot: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self._asked.append(_Ask(key, float(interval), int(burst), slot))
        if self._taking is None or self._taking.done():
            self._taking = asyncio.create_task(self._take(), name="shared-budgets")
        return await slot

    async def _take(self) -> None:
        while self._asked:
            asked, self._asked = self._asked, []
            by_key: dict[str, list[_Ask]] = {}
            for ask in asked:
                by_key.setdefault(ask.key, []).append(ask)
            # Rows are locked in key order, the same on every instance: two instances' statements over the
            # same keys queue behind each other instead of deadlocking.
            keys = sorted(by_key)
            try:
                rows = await self._conn.fetch(_RESERVE, keys, [len(by_key[k]) for k in keys],
                                              [by_key[k][0].interval for k in keys])
            except BaseException as exc:  # the callers hear of it (and pace alone); a cancel ends this task
                _fail(asked, exc if isinstance(exc, Exception) else ConnectionError("shared budgets closed"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for key, last, now in rows:
                asks = by_key[key]
                for position, ask in enumerate(asks):
                    at = float(last) - (len(asks) - 1 - position) * ask.interval
                    if not ask.slot.done():  # a caller that gave up has wasted its slot: errs on the slow side
                        ask.slot.set_result((at, max(0.0, at - float(now) - ask.burst * ask.interval)))
            _fail(asked, RuntimeError("no slot came back for this budget"))  # never: but never hang either

    async def would_wait(self, key: str, interval: float, burst: int) -> float:
        """Seconds a reservation now would wait, without taking one."""
        rows = await self._conn.fetch(_PEEK, key, float(interval), int(burst))
        return float(rows[0][0]) if rows else 0.0

    async def close(self) -> None:
        if self._taking is not None:
            self._taking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._taking
        _fail(self._asked, ConnectionError("shared budgets closed"))
        self._asked = []
        await self._conn.close()


def _fail(asked: list[_Ask], error: BaseException) -> None:
    for ask in asked:
        if not ask.slot.done():
            ask.slot.set_exception(error)
