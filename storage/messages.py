"""Named queries on messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import defer, write_deferred
from storage.direct import Direct
from storage.models import Conversation, Message, fold_message


async def get(session: AsyncSession, message_id: int) -> Message | None:
    await write_deferred(session)  # platform ids set in this transaction (set_platform_ids)
    return await session.get(Message, message_id)


async def get_by_slack_ts(session: AsyncSession, conversation_id: int, slack_ts: str) -> Message | None:
    await write_deferred(session)  # platform ids set in this transaction (set_platform_ids)
    stmt = select(Message).where(Message.conversation_id == conversation_id, Message.slack_ts == slack_ts)
    return (await session.exec(stmt)).first()


# Built once: it runs for every customer message and every agent turn.
_RECENT = (select(Message).where(Message.conversation_id == bindparam("conversation_id"))
           .order_by(col(Message.id).desc()).limit(bindparam("limit")))


_RECENT_TEXTS = Direct(select(Message.author, Message.text)
                       .where(Message.conversation_id == bindparam("conversation_id"))
                       .order_by(col(Message.id).desc()).limit(bindparam("limit")))


async def recent_texts(session: AsyncSession, conversation_id: int, *, limit: int) -> list[tuple[str, str]]:
    """(author, text) of the last `limit` messages, oldest first: what a rule reads, without loading rows."""
    rows = await _RECENT_TEXTS.rows(session, {"conversation_id": conversation_id, "limit": limit})
    return [(author, text) for author, text in reversed(rows)]


_RECENT_TURNS = Direct(select(Message.id, Message.author, Message.text, Message.created_at)
                       .where(Message.conversation_id == bindparam("conversation_id"), col(Message.is_note).is_(False),
                              col(Message.deleted_at).is_(None))
                       .order_by(col(Message.id).desc()).limit(bindparam("limit")))


async def recent_turns(session: AsyncSession, conversation_id: int, *,
                       limit: int) -> list[tuple[int, str, str, datetime]]:
    """(id, author, text, created_at) of the last `limit` messages that are not notes and not deleted,
    oldest first: a conversation as the agent reads it, without loading rows."""
    rows = await _RECENT_TURNS.rows(session, {"conversation_id": conversation_id, "limit": limit})
    return [(id_, author, text, at) for id_, author, text, at in reversed(rows)]


async def find_recent(session: AsyncSession, conversation_id: int, *, limit: int = 20) -> Sequence[Message]:
    """The last `limit` messages, oldest first."""
    await write_deferred(session)  # platform ids set in this transaction (set_platform_ids)
    rows = await session.exec(_RECENT, params={"conversation_id": conversation_id, "limit": limit})
    return list(reversed(rows.all()))


async def find_since_last_agent_reply(session: AsyncSession, conversation_id: int, *, until: datetime,
                                      limit: int) -> Sequence[Message]:
    """Messages (not notes) after the agent's last reply up to `until`, oldest first: the latest `limit`."""
    await write_deferred(session)  # platform ids set in this transaction (set_platform_ids)
    last_agent = (select(func.coalesce(func.max(Message.id), 0))
                  .where(Message.conversation_id == conversation_id, Message.author == "agent",
                         col(Message.created_at) <= until)
                  .scalar_subquery())
    stmt = (select(Message)
            .where(Message.conversation_id == conversation_id, col(Message.is_note).is_(False),
                   col(Message.id) > last_agent, col(Message.created_at) <= until)
            .order_by(col(Message.id).desc()).limit(limit))
    return list(reversed((await session.exec(stmt)).all()))


async def latest_customer_message_id(session: AsyncSession, conversation_id: int) -> int | None:
    stmt = (select(Message.id).where(Message.conversation_id == conversation_id, Message.author == "customer")
            .order_by(col(Message.id).desc()).limit(1))
    return (await session.exec(stmt)).first()


async def get_from_customer(session: AsyncSession, customer_id: int, tg_message_id: int) -> Message | None:
    """The customer's own message with this Telegram id (ids are per chat; the bot's share the sequence)."""
    await write_deferred(session)  # platform ids set in this transaction (set_platform_ids)
    stmt = (select(Message).join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Conversation.customer_id == customer_id, Message.author == "customer",
                   Message.tg_message_id == tg_message_id)
            .order_by(col(Message.id).desc()))
    return (await session.exec(stmt)).first()


_TABLE = Message.__table__  # type: ignore[attr-defined]
_INSERTED = tuple(column.name for column in _TABLE.columns if column.name != "id")
_INSERT = Direct(_TABLE.insert().returning(_TABLE.c.id), column_keys=_INSERTED)


async def add(session: AsyncSession, message: Message) -> Message:
    """Store a new message now and keep it in the session, id set, as if loaded: one plain INSERT where
    `session.add` and a flush run the unit of work, several times the cost, for every message relayed.
    Changed later in the transaction, it is updated as any loaded row would be."""
    state = inspect(message, raiseerr=True)
    if state is None or state.key is not None:  # persistent or detached: it has a row already
        raise ValueError(f"message {message.id} is stored already")
    fold_message(message)  # what storage.models' before_insert hook would do
    row = await _INSERT.first(session, {name: getattr(message, name) for name in _INSERTED})
    assert row is not None
    message.id = row[0]
    make_transient_to_detached(message)  # history cleared: nothing for a flush to write
    session.add(message)
    return message


_SET_SLACK_TS = Direct(_TABLE.update().where(_TABLE.c.id == bindparam("message_id"))
                       .values(slack_ts=bindparam("slack_ts")))
_SET_TG_ID = Direct(_TABLE.update().where(_TABLE.c.id == bindparam("message_id"))
                    .values(tg_message_id=bindparam("tg_message_id")))


def set_platform_ids(session: AsyncSession, message_id: int, *, slack_ts: str | None = None,
                     tg_message_id: int | None = None) -> None:
    """Where a delivered message now lives: a plain update, since the settling transaction has no need to
    load the row (it runs once per delivery), deferred (storage.db.defer) so that the deliveries a
    transaction settles together are written together. This module's readers, and the outbox's claim
    (which loads the messages it delivers), write them first."""
    if slack_ts is not None:
        defer(session, _SET_SLACK_TS, {"message_id": message_id, "slack_ts": slack_ts})
    if tg_message_id is not None:
        defer(session, _SET_TG_ID, {"message_id": message_id, "tg_message_id": tg_message_id})
