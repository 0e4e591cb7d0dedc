"""Receipts of handled platform deliveries: the database is what remembers a re-delivery."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.direct import Direct
from storage.models import InboxReceipt, utcnow

_TABLE = InboxReceipt.__table__  # type: ignore[attr-defined]
# One statement on the hot path (every update and event in): insert the receipt unless the unique key
# already has it. A concurrent duplicate (another instance) waits for the first's transaction on the key
# and then inserts nothing, so exactly one of them handles the delivery.
_CLAIM = {name: Direct(dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["platform", "delivery_id"])
                       .returning(_TABLE.c.id), column_keys=("platform", "delivery_id", "received_at"))
          for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))}


async def claim(session: AsyncSession, platform: str, delivery_id: str) -> bool:
    """Record the delivery; False when it was handled before. Commits with the caller's transaction."""
    stmt = _CLAIM[session.get_bind().dialect.name]
    inserted = await stmt.first(session, {"platform": platform, "delivery_id": delivery_id, "received_at": utcnow()})
    return inserted is not None
