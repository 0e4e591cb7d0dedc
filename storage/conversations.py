"""Named queries on conversations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.direct import Direct
from storage.models import Conversation, Customer

OPEN_MODES = ("agent", "human")


# The hot path's statements, built once with bound parameters (a new statement per call costs as much
# as running it): by id, and a customer's open conversation, each plain and locked.
_BY_ID = select(Conversation).where(Conversation.id == bindparam("conversation_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_OPEN = (select(Conversation)
         .where(Conversation.customer_id == bindparam("customer_id"), col(Conversation.mode).in_(OPEN_MODES))
         .order_by(col(Conversation.id).desc()))
_OPEN_LOCKED = _OPEN.with_for_update()


_TABLE = Conversation.__table__  # type: ignore[attr-defined]
# Every customer message and every answer moves one of these: a plain UPDATE, not a unit-of-work flush.
_STAMPS = {column: Direct(_TABLE.update().where(_TABLE.c.id == bindparam("conversation_id"))
                          .values({column: bindparam("at")}))
           for column in ("last_customer_message_at", "last_reply_at")}


async def stamp(session: AsyncSession, conv: Conversation, column: str, at: datetime) -> None:
    """Set one of a stored conversation's timestamps (`_STAMPS`) in the database and on the object, which
    the ORM then holds as loaded with that value: nothing for a flush to write."""
    assert conv.id is not None, "a conversation not stored yet is written by the ORM, timestamps included"
    await _STAMPS[column].execute(session, {"conversation_id": conv.id, "at": at})
    set_committed_value(conv, column, at)


async def get(session: AsyncSession, conversation_id: int, *, lock: bool = False) -> Conversation | None:
    stmt = _BY_ID_LOCKED if lock else _BY_ID
    return (await session.exec(stmt, params={"conversation_id": conversation_id})).first()


# The conversation and its customer in one statement (the conversation locked): every agent answer reads both.
_WITH_CUSTOMER_LOCKED = (sa_select(Conversation, Customer)
                         .join(Customer, col(Customer.id) == col(Conversation.customer_id))
                         .where(col(Conversation.id) == bindparam("conversation_id"))
                         .with_for_update(of=Conversation))


async def get_with_customer(session: AsyncSession, conversation_id: int) -> tuple[Conversation, Customer] | None:
    """The conversation, locked, and its customer."""
    params = {"conversation_id": conversation_id}
    row = (await session.exec(_WITH_CUSTOMER_LOCKED, params=params)).first()  # type: ignore[call-overload]
    return (row[0], row[1]) if row is not None else None


async def get_open_for_customer(session: AsyncSession, customer_id: int, *, lock: bool = False) -> Conversation | None:
    stmt = _OPEN_LOCKED if lock else _OPEN
    return (await session.exec(stmt, params={"customer_id": customer_id})).first()


async def get_latest_for_customer(session: AsyncSession, customer_id: int) -> Conversation | None:
    stmt = (select(Conversation).where(Conversation.customer_id == customer_id)
            .order_by(col(Conversation.id).desc()))
    return (await session.exec(stmt)).first()


async def get_by_thread(session: AsyncSession, slack_channel: str, slack_thread_ts: str, *,
                        lock: bool = False) -> Conversation | None:
    stmt = select(Conversation).where(Conversation.slack_channel == slack_channel,
                                      Conversation.slack_thread_ts == slack_thread_ts)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def find_open(session: AsyncSession, *, limit: int = 20) -> Sequence[Conversation]:
    """Open conversations, those waiting for a human first, then the longest waiting."""
    stmt = (select(Conversation).where(col(Conversation.mode).in_(OPEN_MODES))
            .order_by(col(Conversation.needs_human).desc(), col(Conversation.mode_since))
            .limit(limit))
    return (await session.exec(stmt)).all()


async def set_thread(session: AsyncSession, conversation_id: int, slack_channel: str, slack_thread_ts: str) -> None:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is not None:
        conversation.slack_channel = slack_channel
        conversation.slack_thread_ts = slack_thread_ts
        session.add(conversation)


def _awaiting_reply() -> object:
    # The customer spoke last: no reply since their latest message.
    return or_(col(Conversation.last_reply_at).is_(None),
               col(Conversation.last_reply_at) < col(Conversation.last_customer_message_at))


async def due_waiting_alert(session: AsyncSession, cutoff: datetime, *, limit: int = 100,
                            conversation_id: int | None = None) -> Sequence[Conversation]:
    """Customers waiting on a human since before `cutoff`, not yet alerted for this wait (of one conversation:
    whether it still is, as its timer fires)."""
    stmt = (select(Conversation)
            .where(col(Conversation.mode).in_(OPEN_MODES),
                   or_(col(Conversation.mode) == "human", col(Conversation.needs_human).is_(True)),
                   col(Conversation.last_customer_message_at) <= cutoff,
                   _awaiting_reply(),  # type: ignore[arg-type]
                   or_(col(Conversation.wait_alerted_at).is_(None),
                       col(Conversation.wait_alerted_at) < col(Conversation.last_customer_message_at)))
            .limit(limit))
    if conversation_id is not None:
        stmt = stmt.where(Conversation.id == conversation_id)
    return (await session.exec(stmt)).all()


async def due_idle_owner(session: AsyncSession, cutoff: datetime, *, unwarned_only: bool,
                         limit: int = 100) -> Sequence[Conversation]:
    """Taken-over conversations whose owner has been silent since before `cutoff`."""
    stmt = select(Conversation).where(Conversation.mode == "human", col(Conversation.owner_active_at) <= cutoff)
    if unwarned_only:
        stmt = stmt.where(col(Conversation.idle_warned_at).is_(None))
    return (await session.exec(stmt.limit(limit))).all()


async def due_stale(session: AsyncSession, cutoff: datetime, *, limit: int = 100) -> Sequence[Conversation]:
    """Open conversations with no activity at all since before `cutoff`."""
    stmt = (select(Conversation)
            .where(col(Conversation.mode).in_(OPEN_MODES), col(Conversation.mode_since) <= cutoff,
                   or_(col(Conversation.last_customer_message_at).is_(None),
                       col(Conversation.last_customer_message_at) <= cutoff),
                   or_(col(Conversation.last_reply_at).is_(None), col(Conversation.last_reply_at) <= cutoff))
            .limit(limit))
    return (await session.exec(stmt)).all()
