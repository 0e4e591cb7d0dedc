"""The tables. Direction and platform are in every column name that holds a platform id."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from storage.text_fold import fold, searchable


def utcnow() -> datetime:
    return datetime.now(UTC)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tg_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    tg_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_name: str = ""
    last_name: str | None = None
    username: str | None = Field(default=None, index=True)
    language: str | None = None
    # The customer blocked the bot: nothing more can reach them until they write again.
    unreachable: bool = False
    # An admin blocked the customer (`/baton block`): messages are stored, nothing is sent or posted (0003_admin).
    blocked: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    # Sent /stop: no campaigns until /start (conversations still work). Migration 0003_campaigns.
    opted_out: bool = False
    # Admin-set labels for campaign audiences, stored as ",vip,beta," so one LIKE finds a whole tag.
    tags: str = ""
    # Name and username folded for search (storage/text_fold.py), kept up to date on every write (0005_search).
    search_name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or f"User {self.tg_user_id}"


class Conversation(SQLModel, table=True):
    __table_args__ = (Index("ix_conversation_customer_open", "customer_id", "mode"),
                      Index("ix_conversation_thread", "slack_channel", "slack_thread_ts"))

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    # "agent" | "human" | "closed"
    mode: str = "agent"
    owner_slack_user_id: str | None = None
    owner_name: str | None = None
    mode_since: datetime = Field(default_factory=utcnow)
    needs_human: bool = False
    needs_human_reason: str | None = None
    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    previous_conversation_id: int | None = None
    opened_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    # Timers are derived from these (see bot/core/timers.py), so they survive restarts and never double.
    needs_human_since: datetime | None = None
    last_reply_at: datetime | None = None  # the agent's or an operator's last message to the customer
    owner_active_at: datetime | None = None
    idle_warned_at: datetime | None = None
    wait_alerted_at: datetime | None = None
    # The customer's rating after resolve (0003_admin); the comment is their next message within a few minutes.
    csat_rating: int | None = None
    csat_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    csat_at: datetime | None = None
    # The campaign this conversation answers (the customer's first message after receiving it).
    campaign_id: int | None = Field(default=None, index=True)


class Message(SQLModel, table=True):
    __table_args__ = (Index("ix_message_slack", "slack_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    # "customer" | "agent" | "operator" | "system"
    author: str
    # An internal note is never sent to the customer.
    is_note: bool = False
    author_slack_user_id: str | None = None
    author_name: str | None = None
    kind: str = "text"
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tg_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    slack_ts: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # A customer's file, fetched through the Bot API when mirrored (migration 0002_media).
    tg_file_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    media_group_id: str | None = None
    # Files an operator shared in Slack: JSON list, see bot.core.media.encode_shared.
    slack_files: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Set when the author changed or removed it; each earlier version is kept in the audit trail.
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    # `text` folded for search, kept up to date on every write; indexed by full-text search (0005_search).
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class OutboxItem(SQLModel, table=True):
    """One effect waiting to leave: written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "destination", "status", "next_attempt_at"),
                      Index("ix_outbox_lane", "destination", "lane", "status"))

    id: int | None = Field(default=None, primary_key=True)
    # "telegram" | "slack" | "agent"
    destination: str
    # Items of one lane leave strictly in id order: a Telegram chat ("customer:7") or a Slack thread
    # ("conversation:12"); different lanes proceed independently.
    lane: str
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    kind: str
    message_id: int | None = None
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    # "pending" | "done" | "failed" | "cancelled"
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class InboxReceipt(SQLModel, table=True):
    """A platform delivery already handled; its unique key is what makes re-deliveries harmless."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("platform", "delivery_id", name="uq_inbox_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    delivery_id: str
    received_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """A call for a human, posted in the alerts channel and updated in place once someone acts."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    reason: str
    created_at: datetime = Field(default_factory=utcnow)
    slack_channel: str | None = None
    slack_ts: str | None = None
    closed_at: datetime | None = None
    # e.g. "Alice took over", "resolved by Alice", "handed back to the agent by Alice"
    outcome: str | None = None


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    conversation_id: int | None = Field(default=None, index=True)
    actor_slack_user_id: str | None = None
    actor_name: str | None = None
    action: str
    source: str
    detail: str | None = None


class StaffRole(SQLModel, table=True):
    """An operator or admin added from Slack (`/baton operators|admins add`); merged with the config lists."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("slack_user_id", "role", name="uq_staff_role"),)

    id: int | None = Field(default=None, primary_key=True)
    slack_user_id: str
    # "operator" | "admin"
    role: str
    added_by: str | None = None
    added_at: datetime = Field(default_factory=utcnow)


class Flag(SQLModel, table=True):
    """A persisted switch, e.g. "agent_paused": survives restarts and is shared by every instance."""

    name: str = Field(primary_key=True)
    value: str = ""
    changed_by: str | None = None
    changed_at: datetime = Field(default_factory=utcnow)


class Campaign(SQLModel, table=True):
    """A broadcast. Its progress lives in its recipient rows, so a restart resumes where it stopped."""

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # as the admin wrote it
    html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # what Telegram gets
    image_url: str | None = None
    button_label: str | None = None
    button_url: str | None = None
    # "all" | "tag" | "language" | "active" | "ids"; audience_value is the tag, code, days or id list.
    audience: str = "all"
    audience_value: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # "scheduled" | "sending" | "done" | "cancelled"
    status: str = "scheduled"
    send_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""
    created_by_name: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_by_name: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    # When the last progress update was queued: updates are throttled to one per few seconds.
    progress_queued_at: datetime | None = None


class CampaignRecipient(SQLModel, table=True):
    __tablename__ = "campaign_recipient"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipient"),
                      Index("ix_campaign_recipient_status", "campaign_id", "status"),
                      Index("ix_campaign_recipient_customer", "customer_id", "sent_at"))

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    customer_id: int = Field(foreign_key="customer.id")
    # "pending" | "queued" (its outbox row is waiting in the customer's lane) | "sent" | "blocked" | "failed" |
    # "skipped"
    status: str = "pending"
    sent_at: datetime | None = None
    tg_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = None
    # The conversation the customer's reply opened (or joined), once they replied.
    conversation_id: int | None = None


class PacingBudget(SQLModel, table=True):
    """A send budget shared by every instance on one PostgreSQL (storage/pacing.py): when the key's next
    send may leave, as seconds since the epoch on the database's clock (so instance clocks never matter)."""

    __tablename__ = "pacing_budget"

    key: str = Field(primary_key=True)
    tat: float


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _fold_customer(_mapper: object, _connection: object, customer: Customer) -> None:
    customer.search_name = fold(" ".join(p for p in (customer.first_name, customer.last_name, customer.username) if p))


def fold_message(message: Message) -> None:
    """The folded text search reads, kept beside the text (also by messages.add, which bypasses the hooks)."""
    message.search_text = searchable(message.text)


@event.listens_for(Message, "before_insert")
@event.listens_for(Message, "before_update")
def _fold_message(_mapper: object, _connection: object, message: Message) -> None:
    fold_message(message)
