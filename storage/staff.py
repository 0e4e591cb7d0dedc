"""Operators and admins added from Slack, and persisted switches (flags) such as the agent pause."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.direct import Direct
from storage.models import Flag, StaffRole

AGENT_PAUSED = "agent_paused"
# Changes with every change of who is an operator or admin, in the same transaction: other instances compare
# it with the one they loaded to know their lists are stale.
STAFF_GENERATION = "staff_generation"


async def list_role(session: AsyncSession, role: str) -> list[str]:
    stmt = select(StaffRole).where(StaffRole.role == role).order_by(col(StaffRole.id))
    return [r.slack_user_id for r in (await session.exec(stmt)).all()]


async def add(session: AsyncSession, slack_user_id: str, role: str, added_by: str, now: datetime) -> bool:
    """False if the person already had the role."""
    stmt = select(StaffRole).where(StaffRole.slack_user_id == slack_user_id, StaffRole.role == role)
    if (await session.exec(stmt)).first() is not None:
        return False
    session.add(StaffRole(slack_user_id=slack_user_id, role=role, added_by=added_by, added_at=now))
    await set_flag(session, STAFF_GENERATION, uuid.uuid4().hex, added_by, now)
    return True


async def remove(session: AsyncSession, slack_user_id: str, role: str, removed_by: str = "", now: datetime | None = None
                 ) -> bool:
    stmt = select(StaffRole).where(StaffRole.slack_user_id == slack_user_id, StaffRole.role == role)
    row = (await session.exec(stmt)).first()
    if row is None:
        return False
    await session.delete(row)
    await set_flag(session, STAFF_GENERATION, uuid.uuid4().hex, removed_by, now or datetime.now(UTC))
    return True


async def generation(session: AsyncSession) -> str | None:
    return await get_flag(session, STAFF_GENERATION)


# Built once: every customer message asks whether the agent is paused. Only the value, not a row object.
_FLAG_VALUE = Direct(select(Flag.value).where(Flag.name == bindparam("name")))


async def get_flag(session: AsyncSession, name: str) -> str | None:
    row = await _FLAG_VALUE.first(session, {"name": name})
    return row[0] if row is not None else None


async def set_flag(session: AsyncSession, name: str, value: str | None, changed_by: str, now: datetime) -> None:
    row = await session.get(Flag, name)
    if value is None:
        if row is not None:
            await session.delete(row)
        return
    row = row or Flag(name=name)
    row.value, row.changed_by, row.changed_at = value, changed_by, now
    session.add(row)


async def agent_paused(session: AsyncSession) -> bool:
    return bool(await get_flag(session, AGENT_PAUSED))
