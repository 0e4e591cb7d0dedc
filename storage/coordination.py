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

import logging

from storage.db import Database
from storage.dedicated import DedicatedConnection

log = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4): the first key keeps Baton's locks apart from anything else's.
LANE_SPACE = 0x42A7
LEADER_SPACE = 0x42A8

_TRY_LANES = "SELECT k FROM unnest($2::text[]) AS k WHERE pg_try_advisory_lock($1, hashtext(k))"
_UNLOCK_LANE = "SELECT pg_advisory_unlock($1, hashtext($2))"
_TRY_LEAD = "SELECT pg_try_advisory_lock($1, 1)"


class Coordinator:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared = not db.is_sqlite
        self._conn = DedicatedConnection(db)
        self._held: set[str] = set()
        self.is_leader = not self.shared

    def holds(self, key: str) -> bool:
        return not self.shared or key in self._held

    async def try_lanes(self, keys: list[str]) -> list[str]:
        """The lanes of `keys` this process may drain now, in the order given; each until release()."""
        if not self.shared or not keys:
            return keys
        rows = await self._run(_TRY_LANES, LANE_SPACE, keys)
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
        await self._run(_UNLOCK_LANE, LANE_SPACE, key)

    async def try_lead(self) -> bool:
        """Become (or confirm being) the leader; False when another process leads or the database is away."""
        if not self.shared:
            return True
        if self.is_leader:
            # Already ours for as long as the connection lives: just check it still does.
            self.is_leader = await self._run("SELECT 1") is not None
        else:
            rows = await self._run(_TRY_LEAD, LEADER_SPACE)
            self.is_leader = bool(rows and rows[0][0])
        return self.is_leader

    async def close(self) -> None:
        try:
            await self._conn.close()  # ends the session: PostgreSQL releases every lock it held
        except Exception as exc:
            log.debug("coordination connection close: %s", exc)
        self._held.clear()
        self.is_leader = not self.shared

    async def _run(self, sql: str, *args: object) -> list[tuple[object, ...]] | None:
        try:
            return await self._conn.fetch(sql, *args)
        except Exception as exc:
            # With the connection, every lock is gone: forget them so nothing acts on one it lost.
            log.warning("coordination connection lost (%s): lanes and leadership given up", exc)
            self._held.clear()
            self.is_leader = False
            return None
