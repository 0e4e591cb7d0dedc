"""The migrations build exactly the schema the models describe, and 0002_media goes both ways."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import Database
from storage.migrate import downgrade, upgrade

MEDIA_COLUMNS = {"tg_file_id", "file_name", "mime_type", "file_size", "media_group_id", "slack_files"}


def _columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("message")}


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


async def test_head_matches_the_models_and_media_downgrades_cleanly(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_columns) >= MEDIA_COLUMNS
            assert await conn.run_sync(_diff) == []

        await downgrade(db.engine, "0001")
        async with db.engine.connect() as conn:
            assert not MEDIA_COLUMNS & await conn.run_sync(_columns)

        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_columns) >= MEDIA_COLUMNS
    finally:
        await db.dispose()
