"""Where the core's event handlers get their transaction: a new one, or the one a caller already holds.

`Service.handle` runs a handler in a transaction of its own; `Service.handle_in` runs the same handler in
the caller's (the dispatcher records a delivery's outcome and claims the lane's next row in one
transaction). Handlers always ask `transaction()`, so both entry points are one code path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import inbox
from storage.db import Database

if TYPE_CHECKING:
    from bot.core.events import Delivery

log = logging.getLogger(__name__)

# (database, session) joined by the running handle_in: keyed by the database, so that another Database in the
# same process (tests run several instances) never picks up this one's session.
_JOINED: ContextVar[tuple[Database, AsyncSession] | None] = ContextVar("baton_joined_session", default=None)


class Transactions:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        joined = _JOINED.get()
        if joined is not None and joined[0] is self.db:
            # The caller commits (or rolls back) the whole; a handler's early return changes nothing here.
            yield joined[1]
            return
        async with self.db.transaction() as session:
            yield session

    @contextmanager
    def joining(self, session: AsyncSession) -> Iterator[None]:
        token = _JOINED.set((self.db, session))
        try:
            yield
        finally:
            _JOINED.reset(token)


async def claim_delivery(session: AsyncSession, delivery: Delivery) -> bool:
    """Record a platform delivery's receipt in the handler's transaction; False when it was handled before
    (a platform's retry, or another instance's copy): the handler then changes nothing."""
    fresh = await inbox.claim(session, delivery.platform, delivery.delivery_id)
    if not fresh:
        log.info("ignoring re-delivered %s %s", delivery.platform, delivery.delivery_id)
    return fresh
