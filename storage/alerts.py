"""Named queries on alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert


async def create(session: AsyncSession, conversation_id: int, reason: str, now: datetime) -> Alert:
    alert = Alert(conversation_id=conversation_id, reason=reason, created_at=now)
    session.add(alert)
    await session.flush()
    return alert


async def get(session: AsyncSession, alert_id: int) -> Alert | None:
    return await session.get(Alert, alert_id)


async def find_open(session: AsyncSession, conversation_id: int) -> Sequence[Alert]:
    stmt = (select(Alert).where(Alert.conversation_id == conversation_id, col(Alert.closed_at).is_(None))
            .order_by(col(Alert.id)))
    return (await session.exec(stmt)).all()
