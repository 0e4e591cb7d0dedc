"""Where the core's event handlers get their transaction: a new one, or the one a caller already holds.

`Service.handle` runs a handler in a transaction of its own; `Service.handle_in` runs the same handler in
the caller's (the dispatcher records a delivery's outcome and claims the lane's next row in one
transaction). Handlers always ask `transaction()`, so both entry points are one code path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database

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
