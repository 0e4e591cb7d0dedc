"""The audit trail: every mode change and admin action, who, when and from where."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry


def record(session: AsyncSession, *, action: str, source: str, conversation_id: int | None,
           actor_slack_user_id: str | None, actor_name: str | None, detail: str | None = None) -> None:
    session.add(AuditEntry(action=action, source=source, conversation_id=conversation_id,
                           actor_slack_user_id=actor_slack_user_id, actor_name=actor_name, detail=detail))


async def latest_detail(session: AsyncSession, action: str, prefix: str) -> str | None:
    """The detail of the newest `action` entry whose detail starts with `prefix`, without the prefix."""
    stmt = (select(AuditEntry.detail).where(AuditEntry.action == action, col(AuditEntry.detail).startswith(prefix))
            .order_by(col(AuditEntry.id).desc()).limit(1))
    detail = (await session.exec(stmt)).first()
    return detail[len(prefix):] if detail else None


# Built once: every agent turn reads it (for the hand-back brief).
_FOR_CONVERSATION = (select(AuditEntry).where(AuditEntry.conversation_id == bindparam("conversation_id"))
                     .order_by(col(AuditEntry.id)))


async def find_for_conversation(session: AsyncSession, conversation_id: int) -> Sequence[AuditEntry]:
    return (await session.exec(_FOR_CONVERSATION, params={"conversation_id": conversation_id})).all()
