"""campaigns: broadcasts, their recipients, opt-outs and tags, and replies tagged with their campaign

Revision ID: 0003_campaigns
Revises: 0002_edits
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_campaigns"
down_revision = "0003_admin"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("image_url", _str(), nullable=True),
        sa.Column("button_label", _str(), nullable=True),
        sa.Column("button_url", _str(), nullable=True),
        sa.Column("audience", _str(), nullable=False),
        sa.Column("audience_value", sa.Text(), nullable=False),
        sa.Column("status", _str(), nullable=False),
        sa.Column("send_at", _when(), nullable=False),
        sa.Column("created_by", _str(), nullable=False),
        sa.Column("created_by_name", _str(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("cancelled_by_name", _str(), nullable=True),
        sa.Column("slack_channel", _str(), nullable=True),
        sa.Column("slack_ts", _str(), nullable=True),
        sa.Column("progress_queued_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "campaign_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", _str(), nullable=False),
        sa.Column("sent_at", _when(), nullable=True),
        sa.Column("tg_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", _str(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipient"),
    )
    op.create_index("ix_campaign_recipient_status", "campaign_recipient", ["campaign_id", "status"])
    op.create_index("ix_campaign_recipient_customer", "campaign_recipient", ["customer_id", "sent_at"])
    # server_default: existing rows get a value; batch mode because SQLite cannot alter tables in place.
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("tags", _str(), nullable=False, server_default=""))
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversation_campaign_id"), ["campaign_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_campaign_id"))
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("tags")
        batch_op.drop_column("opted_out")
    op.drop_index("ix_campaign_recipient_customer", table_name="campaign_recipient")
    op.drop_index("ix_campaign_recipient_status", table_name="campaign_recipient")
    op.drop_table("campaign_recipient")
    op.drop_table("campaign")
