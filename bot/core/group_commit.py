"""Group commit: requests that arrive while a transaction is being committed share the next one.

A short transaction's fixed cost (session, connection, BEGIN, COMMIT) is a large part of its cost, so the
dispatcher's settles and claims, and customers' messages, are committed in groups. A group is applied
request by request (`apply_in`), or all at once (`apply_all`: the dispatcher claims every lane of its
group with one statement). Each caller still gets
its outcome only once the transaction holding its request has committed, so nothing about order or crash
safety changes for it. When a group's transaction fails, each request is run again on its own, so that
only the failing one's caller sees an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database

log = logging.getLogger(__name__)

# PostgreSQL's "deadlock detected" and "could not serialize": it rolled the transaction back to let another
# one through, and running it again is the remedy (its documentation says so). Two of Baton's transactions
# can meet that way (a customer's message and the agent's answer lock the customer and the conversation).
_RUN_AGAIN = {"40P01", "40001"}
ATTEMPTS = 3

R = TypeVar("R")
Out = TypeVar("Out")


class GroupCommit(Generic[R, Out]):
    def __init__(self, db: Database, name: str, apply_in: Callable[[AsyncSession, R], Awaitable[Out]] | None = None,
                 *, apply_all: Callable[[AsyncSession, list[R]], Awaitable[list[Out]]] | None = None,
                 alone: Callable[[R], Awaitable[Out]] | None = None,
                 committed: Callable[[R, Out], None] = lambda _request, _outcome: None) -> None:
        if (apply_in is None) == (apply_all is None):
            raise ValueError("give apply_in or apply_all")
        self.db = db
        self.name = name
        self.apply_in = apply_in  # one request, inside the shared transaction
        self.apply_all = apply_all or self._each  # the group's requests, inside its transaction, in order
        self.alone = alone or self._in_own_transaction  # one request, on its own (a group of one, a retry)
        self.committed = committed  # after a group's commit, for each of its requests
        self._waiting: list[tuple[R, asyncio.Future[Out]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def submit(self, request: R) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_groups(), name=self.name)
        return await asyncio.shield(future)  # a caller that gives up must not cut the shared transaction

    async def wait(self) -> None:
        """Until the group in hand, if any, is committed (shutdown)."""
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)

    async def _each(self, session: AsyncSession, requests: list[R]) -> list[Out]:
        assert self.apply_in is not None
        return [await self.apply_in(session, request) for request in requests]

    async def _in_own_transaction(self, request: R) -> Out:
        async with self.db.transaction() as session:
            [outcome] = await self.apply_all(session, [request])
            return outcome

    async def _alone_again_if_deadlocked(self, request: R) -> Out:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self.alone(request)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in _RUN_AGAIN or attempt == ATTEMPTS:
                    raise
                log.info("%s: the database chose this transaction to end a deadlock; running it again", self.name)
        raise AssertionError("unreachable")

    async def _commit_groups(self) -> None:
        group: list[tuple[R, asyncio.Future[Out]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                if len(group) > 1:
                    try:
                        async with self.db.transaction() as session:
                            outcomes = await self.apply_all(session, [request for request, _ in group])
                    except Exception:
                        log.info("%s: a group of %s failed together; running each alone", self.name, len(group))
                    else:
                        for (request, future), outcome in zip(group, outcomes, strict=True):
                            self.committed(request, outcome)
                            _resolve(future, outcome)
                        continue
                for request, future in group:
                    try:
                        outcome = await self._alone_again_if_deadlocked(request)
                    except Exception as exc:
                        _resolve(future, error=exc)
                    else:
                        _resolve(future, outcome)
        finally:
            self._committer = None
            for _, future in group + self._waiting:  # only when cancelled: nobody is left to commit them
                if not future.done():
                    future.cancel()
            self._waiting = []


def _resolve(future: asyncio.Future[Out], outcome: Out | None = None, *, error: BaseException | None = None) -> None:
    if future.done():  # its caller gave up waiting (cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(outcome)  # type: ignore[arg-type]
