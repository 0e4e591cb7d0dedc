"""The migrations build exactly the schema the models describe, and 0002 goes down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import Database
from storage.migrate import downgrade, upgrade


def _diff(conn: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


def _message_columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("message")}


async def test_upgrade_matches_the_models_and_0002_round_trips(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert {"edited_at", "deleted_at"} <= await conn.run_sync(_message_columns)
        await downgrade(db.engine, "0001")
        async with db.engine.connect() as conn:
            assert not {"edited_at", "deleted_at"} & await conn.run_sync(_message_columns)
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.dispose()
