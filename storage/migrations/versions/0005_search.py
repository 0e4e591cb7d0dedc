"""search: folded text on messages and customers, with a full-text index (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: 0005_search
Revises: 0004_pacing
Create Date: 2026-11-29

`message.search_text` and `customer.search_name` hold the text folded in Python (storage/text_fold.py),
written with every row. SQLite indexes `search_text` in an FTS5 table (unicode61 tokenizer, diacritics
removed, prefix indexes for 2-4 characters) kept in sync by triggers; PostgreSQL keeps
`to_tsvector('simple', search_text)` in a generated column (so matches are not re-parsed when rows are
rechecked) with a GIN index.
A later migration that rebuilds the message table in SQLite batch mode drops the triggers: recreate them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.text_fold import fold, searchable

revision = "0005_search"
down_revision = "0004_pacing"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(search_text, content='message', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF search_text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS message_fts_update", "DROP TRIGGER IF EXISTS message_fts_delete",
               "DROP TRIGGER IF EXISTS message_fts_insert", "DROP TABLE IF EXISTS message_fts"]
POSTGRES_UP = ["ALTER TABLE message ADD COLUMN search_vector tsvector "
               "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
               "CREATE INDEX ix_message_search ON message USING gin (search_vector)"]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_message_search", "ALTER TABLE message DROP COLUMN IF EXISTS search_vector"]


def _backfill(table: str, key: str, columns: tuple[str, ...], batch: int = 5000) -> None:
    to_text = searchable if table == "message" else fold
    """Fold what is already stored, a batch of rows at a time (a large history does not fit in memory)."""
    conn = op.get_bind()
    select = sa.text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :last ORDER BY id LIMIT {batch}")
    update = sa.text(f"UPDATE {table} SET {key} = :v WHERE id = :id")
    last = 0
    while rows := conn.execute(select, {"last": last}).all():
        conn.execute(update, [{"id": row[0], "v": to_text(" ".join(str(v) for v in row[1:] if v))} for row in rows])
        last = rows[-1][0]


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite adds and, since 3.35, drops columns in place): batch mode
    # would rebuild the tables, which foreign keys on stored rows refuse.
    op.add_column("message", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.add_column("customer", sa.Column("search_name", sa.Text(), nullable=False, server_default=""))
    _backfill("message", "search_text", ("text",))
    _backfill("customer", "search_name", ("first_name", "last_name", "username"))
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.execute("ALTER TABLE customer DROP COLUMN search_name")
    op.execute("ALTER TABLE message DROP COLUMN search_text")
