"""Several Baton instances on one PostgreSQL: who drains which outbox lane, and who is the leader.

Both are PostgreSQL session-level advisory locks held on one dedicated connection per process, chosen
over a `lane_lease` table with expiry because the database itself releases them the moment the holder's
connection ends: a process killed with SIGKILL hands over its lanes and its leadership at once, with no
lease length to tune (too short: two holders during a slow delivery; too long: a stalled failover) and
no renewal writes. The price is one extra connection per process, and a holder that loses its
connection (but lives) must notice before it acts again: every call that fails forgets everything held.

A drained lane's lock is not given back at once but after `RELEASE_GRACE` seconds, together with the
other lanes drained meanwhile, in one statement; a lane that gets work again within the grace is taken
back with no statement at all. Unlocking each lane as its drain ended cost a round trip per drain, one of
the larger shares of a relayed message on PostgreSQL. The price: for up to the grace, another instance
finds the lane taken and looks again later (its dispatcher rescans refused lanes within 0.2 s).

On SQLite there is one process by design: every lane and the leadership are simply granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from storage.db import Database
from storage.dedicated import DedicatedConnection

log = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4): the first key keeps Baton's locks apart from anything else's.
LANE_SPACE = 0x42A7
LEADER_SPACE = 0x42A8

_TRY_LANES = "SELECT k FROM unnest($2::text[]) AS k WHERE pg_try_advisory_lock($1, hashtext(k))"
_UNLOCK_LANES = "SELECT pg_advisory_unlock($1, hashtext(k)) FROM unnest($2::text[]) AS k"
RELEASE_GRACE = 0.05  # seconds a drained lane stays held, in case it has work again at once
_TRY_LEAD = "SELECT pg_try_advisory_lock($1, 1)"


class Coordinator:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared = not db.is_sqlite
        self._conn = DedicatedConnection(db)
        self._held: set[str] = set()  # granted and not yet unlocked (draining, or within the grace)
        self._releasing: set[str] = set()  # drained, to be unlocked at the end of the grace
        self._unlocking: asyncio.Task[None] | None = None
        self.is_leader = not self.shared

    def holds(self, key: str) -> bool:
        return not self.shared or key in self._held

    async def try_lanes(self, keys: list[str]) -> list[str]:
        """The lanes of `keys` this process may drain now, in the order given; each until release()."""
        if not self.shared or not keys:
            return keys
        got = {key for key in keys if key in self._releasing}  # still held: no statement
        self._releasing -= got
        ask = [key for key in keys if key not in got]
        if ask:
            rows = await self._run(_TRY_LANES, LANE_SPACE, ask)
            if rows is None:
                return []  # the connection is gone, and every lock with it
            # Lanes taken back from the grace are still ours only if no statement failed meanwhile (a
            # failure forgets everything held: the connection, and the locks with it, are gone).
            got = {key for key in got if key in self._held}
            # A hash collision with a lane already held here is granted again (locks are re-entrant per
            # session); each grant is released once, so the counts stay right.
            got |= {str(row[0]) for row in rows}
            self._held |= got
        return [k for k in keys if k in got]

    async def release(self, key: str) -> None:
        """The lane is drained: its lock goes back at the end of the grace (or is taken again before)."""
        if not self.shared or key not in self._held:
            return
        self._releasing.add(key)
        if self._unlocking is None or self._unlocking.done():
            self._unlocking = asyncio.create_task(self._unlock_soon(), name="coordination-unlock")

    async def _unlock_soon(self) -> None:
        await asyncio.sleep(RELEASE_GRACE)
        await self._unlock_released()

    async def flush_releases(self) -> None:
        """Unlock the drained lanes now, without waiting for the grace."""
        await self._unlock_released()

    async def _unlock_released(self) -> None:
        while self._releasing:  # those drained while the statement ran go in the next one
            keys = sorted(self._releasing)
            self._releasing.clear()
            self._held.difference_update(keys)  # before the statement: a try_lanes now asks the database
            await self._run(_UNLOCK_LANES, LANE_SPACE, keys)

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
        if self._unlocking is not None:
            self._unlocking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._unlocking
            self._unlocking = None
        self._releasing.clear()
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
            self._releasing.clear()
            self.is_leader = False
            return None
