"""Alembic environment: Baton always hands in an open connection (see storage/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on the metadata)
from storage.migrate import include_object

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `baton db upgrade`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
