"""The migration chain builds exactly the schema the models describe, and goes down to 0001 and back up."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import Database
from storage.migrate import downgrade, include_object, upgrade
from tests.support import databases

LATER_MESSAGE_COLUMNS = {"tg_file_id", "file_name", "mime_type", "file_size", "media_group_id", "slack_files",
                         "edited_at", "deleted_at"}
LATER_CONVERSATION_COLUMNS = {"needs_human_since", "last_reply_at", "owner_active_at", "idle_warned_at",
                              "wait_alerted_at"}


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"include_object": include_object})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_head_matches_the_models_and_the_chain_round_trips(tmp_path: Path) -> None:
    url = databases.url_for(tmp_path, "m")
    await databases.prepare(url, migrated=False)  # the chain itself is under test: start from nothing
    db = Database(url)
    try:
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_columns, "message") >= LATER_MESSAGE_COLUMNS

        await downgrade(db.engine, "0001")
        async with db.engine.connect() as conn:
            assert not LATER_MESSAGE_COLUMNS & await conn.run_sync(_columns, "message")
            assert not LATER_CONVERSATION_COLUMNS & await conn.run_sync(_columns, "conversation")
            assert "alert" not in await conn.run_sync(_tables)

        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.dispose()
