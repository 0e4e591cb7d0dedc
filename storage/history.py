"""Read-only queries for history, search, export, the App Home and stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, table
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver
from storage.ids import as_id, looks_numeric
from storage.models import Alert, AuditEntry, Conversation, Customer, Message
from storage.text_fold import fold, search_terms

# SQLite's FTS5 index of message.search_text (migration 0005_search); `rowid` is the message id.
_FTS = table("message_fts", column("rowid"), column("message_fts"))
# PostgreSQL's generated tsvector of message.search_text, GIN-indexed (same migration; not in the model).
_VECTOR: ColumnElement[Any] = literal_column("message.search_vector")


async def find_customers(session: AsyncSession, query: str, *, limit: int = 10) -> Sequence[Customer]:
    """A customer named the way operators do: `@username`, a Telegram id, or (part of) their name."""
    query = query.strip()
    if query.startswith("@"):
        stmt = select(Customer).where(func.lower(Customer.username) == query[1:].lower())
    elif looks_numeric(query):
        stmt = select(Customer).where(Customer.tg_user_id == (as_id(query) or 0))  # 0: no such customer
    else:
        # Folded in Python on both sides, so "мария" finds "Мария" and "jose" finds "José" on either database.
        like = f"%{_escape_like(fold(query))}%"
        stmt = select(Customer).where(col(Customer.search_name).like(like, escape="\\"))
    return (await session.exec(stmt.order_by(col(Customer.id)).limit(limit))).all()


async def conversations_of(session: AsyncSession, customer_id: int, *, limit: int = 50) -> Sequence[Conversation]:
    stmt = (select(Conversation).where(Conversation.customer_id == customer_id)
            .order_by(col(Conversation.id).desc()).limit(limit))
    return (await session.exec(stmt)).all()


async def search_messages(session: AsyncSession, text: str, *, limit: int = 20
                          ) -> Sequence[tuple[Message, Conversation, Customer]]:
    """Messages with a word starting with each word of `text` (case and accents ignored), newest first.

    A full-text index answers it (FTS5 on SQLite, a GIN tsvector index on PostgreSQL), not a scan."""
    terms = search_terms(text)
    if not terms:
        return []
    if session.bind.dialect.name == "sqlite":
        with sqlite_driver.on_worker_thread():  # FTS5 can take tens of milliseconds: not on the event loop
            ids: list[int] = await _sqlite_ids(session, terms, limit)
    else:
        query = " & ".join("'" + term.replace("\\", "\\\\").replace("'", "''") + "':*" for term in terms)
        stmt = (select(Message.id).where(col(Message.deleted_at).is_(None))
                .where(_VECTOR.op("@@")(func.to_tsquery(literal_column("'simple'"), query)))
                .order_by(col(Message.id).desc()).limit(limit))
        ids = list((await session.exec(stmt)).all())  # type: ignore[arg-type]
    # Only the few rows found are joined.
    stmt2 = (select(Message, Conversation, Customer)
             .join(Conversation, col(Conversation.id) == Message.conversation_id)
             .join(Customer, col(Customer.id) == Conversation.customer_id)
             .where(col(Message.id).in_(ids)).order_by(col(Message.id).desc()))
    return (await session.exec(stmt2)).all() if ids else []


async def _sqlite_ids(session: AsyncSession, terms: list[str], limit: int) -> list[int]:
    """FTS5 walks a term's or a short prefix's matches newest first and stops at the limit, but a longer
    prefix (beyond the 2-4 character prefix indexes) makes it merge every matching word's list first,
    which for a common word costs tens of milliseconds. So long terms are first matched as whole words;
    when that finds enough, only rows newer than the oldest found can add prefix matches, and those few
    are checked directly; when it does not, the words are rare and the full prefix query is cheap."""
    long = [t for t in terms if len(t) > 4]
    if not long:
        return await _fts_ids(session, " AND ".join(f'"{t}"*' for t in terms), limit)
    found = await _fts_ids(session, " AND ".join(f'"{t}"' if len(t) > 4 else f'"{t}"*' for t in terms), limit)
    if len(found) < limit:
        return await _fts_ids(session, " AND ".join(f'"{t}"*' for t in terms), limit)
    newer = await _fts_ids(session, " AND ".join(f'"{t[:4]}"*' for t in terms), limit, after=found[-1],
                           words_starting=long)
    return sorted(set(found) | set(newer), reverse=True)[:limit]


async def _fts_ids(session: AsyncSession, match: str, limit: int, *, after: int = 0,
                   words_starting: Sequence[str] = ()) -> list[int]:
    stmt = (select(Message.id).join(_FTS, _FTS.c.rowid == Message.id)
            .where(_FTS.c.message_fts.op("MATCH")(match), col(Message.deleted_at).is_(None), _FTS.c.rowid > after)
            .order_by(_FTS.c.rowid.desc()).limit(limit))
    for term in words_starting:  # search_text is the words one space apart (storage/text_fold.py)
        stmt = stmt.where(func.instr(" " + col(Message.search_text), " " + term) > 0)
    return list((await session.exec(stmt)).all())  # type: ignore[arg-type]


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
