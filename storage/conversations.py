"""Named queries on conversations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation

OPEN_MODES = ("agent", "human")


async def get(session: AsyncSession, conversation_id: int, *, lock: bool = False) -> Conversation | None:
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def get_open_for_customer(session: AsyncSession, customer_id: int, *, lock: bool = False) -> Conversation | None:
    stmt = (select(Conversation)
            .where(Conversation.customer_id == customer_id, col(Conversation.mode).in_(OPEN_MODES))
            .order_by(col(Conversation.id).desc()))
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def get_latest_for_customer(session: AsyncSession, customer_id: int) -> Conversation | None:
    stmt = (select(Conversation).where(Conversation.customer_id == customer_id)
            .order_by(col(Conversation.id).desc()))
    return (await session.exec(stmt)).first()


async def get_by_thread(session: AsyncSession, slack_channel: str, slack_thread_ts: str) -> Conversation | None:
    stmt = select(Conversation).where(Conversation.slack_channel == slack_channel,
                                      Conversation.slack_thread_ts == slack_thread_ts)
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
