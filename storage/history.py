"""Read-only queries for history, search, export, the App Home and stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.ids import as_id, looks_numeric
from storage.models import Alert, AuditEntry, Conversation, Customer, Message


async def find_customers(session: AsyncSession, query: str, *, limit: int = 10) -> Sequence[Customer]:
    """A customer named the way operators do: `@username`, a Telegram id, or (part of) their name."""
    query = query.strip()
    if query.startswith("@"):
        stmt = select(Customer).where(func.lower(Customer.username) == query[1:].lower())
    elif looks_numeric(query):
        stmt = select(Customer).where(Customer.tg_user_id == (as_id(query) or 0))  # 0: no such customer
    else:
        like = f"%{_escape_like(query.lower())}%"
        full = func.lower(Customer.first_name + " " + func.coalesce(Customer.last_name, ""))
        stmt = select(Customer).where(or_(full.like(like, escape="\\"),
                                          func.lower(func.coalesce(Customer.username, "")).like(like, escape="\\")))
    return (await session.exec(stmt.order_by(col(Customer.id)).limit(limit))).all()


async def conversations_of(session: AsyncSession, customer_id: int, *, limit: int = 50) -> Sequence[Conversation]:
    stmt = (select(Conversation).where(Conversation.customer_id == customer_id)
            .order_by(col(Conversation.id).desc()).limit(limit))
    return (await session.exec(stmt)).all()


async def search_messages(session: AsyncSession, text: str, *, limit: int = 20
                          ) -> Sequence[tuple[Message, Conversation, Customer]]:
    # LIKE on lower(): case-insensitive on SQLite and PostgreSQL alike; fine at support-desk volumes.
    like = f"%{_escape_like(text.lower())}%"
    stmt = (select(Message, Conversation, Customer)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .join(Customer, col(Customer.id) == Conversation.customer_id)
            .where(func.lower(Message.text).like(like, escape="\\"), col(Message.deleted_at).is_(None))
            .order_by(col(Message.id).desc()).limit(limit))
    return (await session.exec(stmt)).all()


async def messages_of(session: AsyncSession, conversation_id: int) -> Sequence[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
    return (await session.exec(stmt)).all()


async def conversations_between(session: AsyncSession, since: datetime | None, until: datetime | None
                                ) -> Sequence[Conversation]:
    stmt = select(Conversation)
    if since is not None:
        stmt = stmt.where(Conversation.opened_at >= since)
    if until is not None:
        stmt = stmt.where(Conversation.opened_at < until)
    return (await session.exec(stmt.order_by(col(Conversation.id)))).all()


async def open_alerts(session: AsyncSession, *, limit: int = 20) -> Sequence[Alert]:
    stmt = select(Alert).where(col(Alert.closed_at).is_(None)).order_by(col(Alert.id)).limit(limit)
    return (await session.exec(stmt)).all()


async def takeovers_since(session: AsyncSession, since: datetime) -> Sequence[AuditEntry]:
    stmt = (select(AuditEntry).where(AuditEntry.action == "takeover", AuditEntry.at >= since)
            .order_by(col(AuditEntry.id)))
    return (await session.exec(stmt)).all()


async def last_error(session: AsyncSession) -> tuple[datetime, str] | None:
    from storage.models import OutboxItem

    stmt = (select(OutboxItem).where(col(OutboxItem.last_error).is_not(None),
                                     OutboxItem.last_error != "delivery in progress")
            .order_by(col(OutboxItem.id).desc()).limit(1))
    row = (await session.exec(stmt)).first()
    return (row.created_at, str(row.last_error)) if row is not None else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
