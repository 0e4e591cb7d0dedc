"""media: what is needed to relay files between Telegram and Slack

Revision ID: 0002_media
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_media"
down_revision = "0002_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns only: existing rows are text messages and stay valid as they are.
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tg_file_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("mime_type", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("media_group_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("slack_files", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("slack_files")
        batch_op.drop_column("media_group_id")
        batch_op.drop_column("file_size")
        batch_op.drop_column("mime_type")
        batch_op.drop_column("file_name")
        batch_op.drop_column("tg_file_id")
