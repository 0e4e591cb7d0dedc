"""Receipts of handled platform deliveries: the database is what remembers a re-delivery."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxReceipt


async def claim(session: AsyncSession, platform: str, delivery_id: str) -> bool:
    """Record the delivery; False when it was handled before. Commits with the caller's transaction."""
    stmt = select(InboxReceipt.id).where(InboxReceipt.platform == platform,
                                          InboxReceipt.delivery_id == delivery_id)
    if (await session.exec(stmt)).first() is not None:
        return False
    session.add(InboxReceipt(platform=platform, delivery_id=delivery_id))
    # Flushing now turns a concurrent duplicate (another instance) into an IntegrityError here.
    await session.flush()
    return True
