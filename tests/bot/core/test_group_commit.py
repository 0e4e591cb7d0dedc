"""GroupCommit on PostgreSQL: a transaction the database ends to break a deadlock is run again."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.group_commit import GroupCommit
from storage.db import Database
from tests.support import databases
from tests.support.rows import customer_with_conversation

pytestmark = databases.postgres_only("row locks that deadlock")

Request = tuple[str, int, int, asyncio.Event, asyncio.Event]
_LOCK = text("SELECT id FROM customer WHERE id = :id FOR UPDATE")


async def test_the_victim_of_a_deadlock_is_run_again_and_both_commit(db: Database) -> None:
    async with db.transaction() as session:
        ann, _ = await customer_with_conversation(session, tg_user_id=1)
        bob, _ = await customer_with_conversation(session, tg_user_id=2)
    runs: list[str] = []

    async def lock_both(session: AsyncSession, request: Request) -> str:
        """Lock one row, wait until the other side has locked its first, then lock the other row."""
        name, first, second, locked, theirs = request
        runs.append(name)
        await session.exec(_LOCK.bindparams(id=first))
        locked.set()
        await theirs.wait()
        await session.exec(_LOCK.bindparams(id=second))
        await session.exec(text("UPDATE customer SET tags = tags || :name WHERE id = :id")
                           .bindparams(name=name, id=first))
        return name

    x_locked, y_locked = asyncio.Event(), asyncio.Event()
    x, y = GroupCommit(db, "x", lock_both), GroupCommit(db, "y", lock_both)
    done = await asyncio.gather(x.submit(("x", ann.id or 0, bob.id or 0, x_locked, y_locked)),
                                y.submit(("y", bob.id or 0, ann.id or 0, y_locked, x_locked)))
    assert done == ["x", "y"]
    assert sorted(runs) in (["x", "x", "y"], ["x", "y", "y"])  # PostgreSQL ended one of them once
    async with db.transaction() as session:
        tags = [row[0] for row in await session.exec(text("SELECT tags FROM customer ORDER BY id"))]
    assert tags == ["x", "y"]  # each committed once
