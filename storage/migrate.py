"""Run the Alembic migrations from inside the running event loop (no second loop, no subprocess)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
# Full-text search structures that the models do not describe (migration 0005_search creates them).
SEARCH_OBJECTS = ("message_fts", "ix_message_search", "search_vector")


def include_object(_obj: object, name: str | None, _type: str, _reflected: bool, _compare_to: object) -> bool:
    """For autogenerate and schema comparison: leave out what only the search migration manages."""
    return not (name or "").startswith(SEARCH_OBJECTS)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        # env.py picks this up instead of opening its own connection.
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def _run(sync_conn: Connection) -> None:
        command.upgrade(alembic_config(sync_conn), revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    def _run(sync_conn: Connection) -> None:
        command.downgrade(alembic_config(sync_conn), revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)
