"""The outbox: effects waiting to leave, drained in order per lane by the dispatcher."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import ENQUEUED, defer, write_deferred
from storage.direct import Direct
from storage.models import Conversation, Customer, Message, OutboxItem, utcnow

_TABLE = OutboxItem.__table__  # type: ignore[attr-defined]
_COLUMNS = ("destination", "lane", "conversation_id", "kind", "message_id", "payload", "status", "attempts",
            "next_attempt_at", "last_error", "created_at", "done_at")
_INSERT = Direct(_TABLE.insert(), column_keys=_COLUMNS)
# Plain (Core) updates: the ORM's version would look for loaded rows to synchronise, on every delivery.
_FINISH = Direct(_TABLE.update().where(_TABLE.c.id == bindparam("item_id"))
                 .values(status=bindparam("status"), last_error=bindparam("error"), done_at=bindparam("done_at")))
# Written before each attempt and overwritten when it is settled: finding it on a row later means the
# process died during that attempt, so the platform may or may not have the message.
IN_FLIGHT = "delivery in progress"
_MARK_ATTEMPT = Direct(_TABLE.update().where(_TABLE.c.id == bindparam("item_id"))
                       .values(attempts=_TABLE.c.attempts + 1, last_error=IN_FLIGHT))


def enqueue(session: AsyncSession, *, destination: str, lane: str, kind: str,
            conversation_id: int | None = None, message_id: int | None = None,
            payload: dict[str, Any] | None = None, now: datetime | None = None) -> None:
    """Add a row to the transaction's outbox. The rows are written together, in the order enqueued, by one
    statement before the transaction commits (or before anything in it reads the outbox): not one ORM
    insert each, which measured as a large share of a relayed message's cost."""
    at = now or utcnow()
    defer(session, _INSERT, {
        "destination": destination, "lane": lane, "conversation_id": conversation_id, "kind": kind,
        "message_id": message_id, "payload": json.dumps(payload or {}), "status": "pending", "attempts": 0,
        "next_attempt_at": at, "last_error": None, "created_at": utcnow(), "done_at": None})
    session.info.setdefault(ENQUEUED, set()).add((destination, lane))


def finish(session: AsyncSession, item_id: int, *, status: str, error: str | None = None) -> None:
    """Settle a row (done, failed): written with the transaction's other deferred writes (storage.db.defer)."""
    defer(session, _FINISH, {"item_id": item_id, "status": status, "error": error, "done_at": utcnow()})


def mark_attempt(session: AsyncSession, item_id: int) -> None:
    """Record that an attempt at this row begins (IN_FLIGHT, one more attempt), in the claiming transaction:
    committed before the attempt is made."""
    defer(session, _MARK_ATTEMPT, {"item_id": item_id})


def payload_of(item: OutboxItem) -> dict[str, Any]:
    data = json.loads(item.payload or "{}")
    return data if isinstance(data, dict) else {}


# The dispatcher runs these statements for every delivery: they are built once, with bound parameters,
# so each call skips SQLAlchemy's expression building (a large share of the hot path when measured).
_PENDING_ROWS = (select(OutboxItem.lane, OutboxItem.next_attempt_at)
                 .where(col(OutboxItem.destination) == bindparam("destination"), col(OutboxItem.status) == "pending")
                 .order_by(col(OutboxItem.id)).limit(bindparam("window")))


async def scan_heads(session: AsyncSession, destination: str, now: datetime, *,
                     limit: int = 200) -> tuple[list[str], datetime | None]:
    """Lanes whose first pending item is due now (oldest first), and when the next not-yet-due head is
    due. Only heads count: a lane waits for its head, whatever is due behind it."""
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    rows = await session.exec(_PENDING_ROWS, params={"destination": destination, "window": limit * 5})
    heads: dict[str, datetime] = {}
    for lane, next_at in rows.all():
        heads.setdefault(lane, _as_aware(next_at))
    due = [lane for lane, at in heads.items() if at <= now][:limit]
    later = [at for at in heads.values() if at > now]
    return due, (min(later) if later else None)


# The first pending row of each lane asked for.
_HEAD_IDS = (select(func.min(OutboxItem.id))
             .where(col(OutboxItem.destination) == bindparam("destination"),
                    col(OutboxItem.lane).in_(bindparam("lanes", expanding=True)), col(OutboxItem.status) == "pending")
             .group_by(col(OutboxItem.lane)))
_BEHIND = aliased(OutboxItem)
# Whether rows wait behind the head: when none does, the dispatcher need not look again after settling it
# (rows written later announce themselves: Database.on_enqueued).
_MORE = (exists().where(col(_BEHIND.destination) == col(OutboxItem.destination),
                        col(_BEHIND.lane) == col(OutboxItem.lane),
                        col(_BEHIND.status) == "pending", col(_BEHIND.id) > col(OutboxItem.id))
         .label("more"))
# With the rows its delivery reads, in the same statement. populate_existing: the dispatcher claims in the
# transaction that settled the previous rows, which may have loaded some of them already.
# (SQLAlchemy's select: sqlmodel's is typed for at most four columns.)
_CLAIM_HEADS = (sa_select(OutboxItem, Conversation, Customer, Message, _MORE)
                .outerjoin(Conversation, col(Conversation.id) == col(OutboxItem.conversation_id))
                .outerjoin(Customer, col(Customer.id) == col(Conversation.customer_id))
                .outerjoin(Message, col(Message.id) == col(OutboxItem.message_id))
                .where(col(OutboxItem.id).in_(_HEAD_IDS), col(OutboxItem.status) == "pending")
                .with_for_update(of=OutboxItem, skip_locked=True).execution_options(populate_existing=True))

# The head, its conversation, that conversation's customer, its message, and whether rows wait behind it.
Claimed = tuple[OutboxItem, Conversation | None, Customer | None, Message | None, bool]


async def claim_heads(session: AsyncSession, destination: str, lanes: Sequence[str]) -> dict[str, Claimed]:
    """Each lane's first pending row (with its conversation, that conversation's customer and its message,
    and whether more rows are pending behind it), locked until the caller's transaction ends, by lane: one
    statement for all of them. A lane with no pending row, or whose head another transaction holds, is
    missing. SKIP LOCKED applies to heads only: skipping to the second row would break the lane's order,
    so a locked head means "not now". (SQLite renders no FOR UPDATE: one writer.)"""
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    if not lanes:
        return {}
    params = {"destination": destination, "lanes": list(lanes)}
    rows = (await session.exec(_CLAIM_HEADS, params=params)).all()  # type: ignore[call-overload]
    return {row[0].lane: (row[0], row[1], row[2], row[3], bool(row[4])) for row in rows}


async def find_pending_after(session: AsyncSession, destination: str, lane: str, after_id: int, *,
                             limit: int) -> Sequence[OutboxItem]:
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    stmt = (select(OutboxItem)
            .where(OutboxItem.destination == destination, OutboxItem.lane == lane, OutboxItem.status == "pending",
                   col(OutboxItem.id) > after_id)
            .order_by(col(OutboxItem.id)).limit(limit))
    return (await session.exec(stmt)).all()


async def retry_later(session: AsyncSession, item_id: int, at: datetime, error: str,
                      progress: dict[str, Any] | None = None) -> None:
    await write_deferred(session)  # its settle or attempt, if written in this transaction, comes first
    values: dict[str, Any] = {"next_attempt_at": at, "last_error": error}
    if progress:
        item = await session.get(OutboxItem, item_id)
        values["payload"] = json.dumps({**(payload_of(item) if item else {}), **progress})
    await session.exec(_TABLE.update().where(_TABLE.c.id == item_id).values(**values))


async def get(session: AsyncSession, item_id: int) -> OutboxItem | None:
    """A row as this transaction has it (what it settled is written first)."""
    await write_deferred(session)
    return await session.get(OutboxItem, item_id, populate_existing=True)


async def cancel_pending(session: AsyncSession, *, destination: str, conversation_id: int,
                         kinds: Iterable[str]) -> int:
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    result = await session.exec(
        update(OutboxItem)
        .where(col(OutboxItem.destination) == destination, col(OutboxItem.conversation_id) == conversation_id,
               col(OutboxItem.status) == "pending", col(OutboxItem.kind).in_([str(kind) for kind in kinds]))
        .values(status="cancelled", done_at=utcnow()))
    return int(result.rowcount or 0)


async def count_pending(session: AsyncSession) -> int:
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    stmt = select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
    return int((await session.exec(stmt)).one())


async def find_by_status(session: AsyncSession, status: str) -> Sequence[OutboxItem]:
    await write_deferred(session)  # this transaction's own rows are part of what it reads
    return (await session.exec(select(OutboxItem).where(OutboxItem.status == status)
                               .order_by(col(OutboxItem.id)))).all()


def _as_aware(value: datetime) -> datetime:
    # SQLite hands back what was stored; the UTCDateTime column makes it aware, but be defensive.
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
