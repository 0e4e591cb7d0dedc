"""The engine on PostgreSQL: a pooled connection the server has closed is never handed out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from tests.support import databases

pytestmark = databases.postgres_only("connections to a database server")


async def _backend(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.exec(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[call-overload]


async def test_a_pooled_connection_the_server_ended_is_replaced_not_used(db: Database, tmp_path: Path) -> None:
    pooled = await _backend(db)
    assert await _backend(db) == pooled  # the pool hands the same connection back
    # The server ends that session while the connection sits in the pool (a restart, an idle timeout).
    killer = Database(databases.url_for(tmp_path))
    try:
        async with killer.engine.connect() as conn:
            ended = await conn.exec_driver_sql(f"SELECT pg_terminate_backend({pooled}, 5000)")
            assert ended.all() == [(True,)]
    finally:
        await killer.dispose()
    # The next transaction runs, on a new connection, instead of failing on the dead one.
    assert await _backend(db) != pooled
