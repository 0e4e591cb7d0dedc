"""Several Baton instances on one PostgreSQL: who drains which outbox lane, and who is the leader.

Both are PostgreSQL session-level advisory locks held on one dedicated connection per process, chosen
over a `lane_lease` table with expiry because the database itself releases them the moment the holder's
connection ends: a process killed with SIGKILL hands over its lanes and its leadership at once, with no
lease length to tune (too short: two holders during a slow delivery; too long: a stalled failover) and
no renewal writes. The price is one extra connection per process, and a holder that loses its
connection (but lives) must notice before it acts again: every call that fails forgets everything held.

On SQLite there is one process by design: every lane and the leadership are simply granted.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4): the first key keeps Baton's locks apart from anything else's.
LANE_SPACE = 0x42A7
LEADER_SPACE = 0x42A8

_TRY_LANES = text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE pg_try_advisory_lock(:space, hashtext(k))")
_UNLOCK_LANE = text("SELECT pg_advisory_unlock(:space, hashtext(:key))")
_TRY_LEAD = text("SELECT pg_try_advisory_lock(:space, 1)")


class Coordinator:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared = not db.is_sqlite
        self._conn: AsyncConnection | None = None
        # One connection, one conversation with it at a time.
        self._lock = asyncio.Lock()
        self._held: set[str] = set()
        self.is_leader = not self.shared

    def holds(self, key: str) -> bool:
        return not self.shared or key in self._held

    async def try_lanes(self, keys: list[str]) -> list[str]:
        """The lanes of `keys` this process may drain now, in the order given; each until release()."""
        if not self.shared or not keys:
            return keys
        rows = await self._run(_TRY_LANES, keys=keys, space=LANE_SPACE)
        if rows is None:
            return []
        # A hash collision with a lane already held here is granted again (locks are re-entrant per
        # session); each grant is released once, so the counts stay right.
        got = {str(row[0]) for row in rows}
        self._held |= got
        return [k for k in keys if k in got]

    async def release(self, key: str) -> None:
        if not self.shared or key not in self._held:
            return
        self._held.discard(key)
        await self._run(_UNLOCK_LANE, key=key, space=LANE_SPACE)

    async def try_lead(self) -> bool:
        """Become (or confirm being) the leader; False when another process leads or the database is away."""
        if not self.shared:
            return True
        if self.is_leader:
            # Already ours for as long as the connection lives: just check it still does.
            self.is_leader = await self._run(text("SELECT 1")) is not None
        else:
            rows = await self._run(_TRY_LEAD, space=LEADER_SPACE)
            self.is_leader = bool(rows and rows[0][0])
        return self.is_leader

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                try:
                    await conn.close()  # ends the session: PostgreSQL releases every lock it held
                except Exception as exc:
                    log.debug("coordination connection close: %s", exc)
            self._held.clear()
            self.is_leader = not self.shared

    async def _run(self, stmt: TextClause, **params: object) -> list[tuple[object, ...]] | None:
        async with self._lock:
            try:
                if self._conn is None:
                    # Autocommit: the locks belong to the session, so no transaction needs to stay open.
                    self._conn = await (await self.db.engine.connect()).execution_options(
                        isolation_level="AUTOCOMMIT")
                result = await self._conn.execute(stmt, params)
                return [tuple(r) for r in result.fetchall()]
            except Exception as exc:
                # With the connection, every lock is gone: forget them so nothing acts on one it lost.
                log.warning("coordination connection lost (%s): lanes and leadership given up", exc)
                conn, self._conn = self._conn, None
                self._held.clear()
                self.is_leader = False
                if conn is not None:
                    try:
                        await conn.invalidate()
                    except Exception as close_exc:
                        log.debug("invalidate: %s", close_exc)
                return None
