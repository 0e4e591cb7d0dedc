"""One leader among the instances: it alone runs the timer sweeps and polls Telegram.

Telegram allows a single getUpdates consumer per token, and two sweeps at once could both see the same
deadline before either records it. Leadership is a PostgreSQL session-level advisory lock (see
storage/coordination.py): when the leader dies its connection ends, the lock is free, and the next
instance to try (every `interval` seconds) takes over. On SQLite the only process leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from storage.coordination import Coordinator

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, coordinator: Coordinator, *, on_elected: Callable[[], Awaitable[None]],
                 on_deposed: Callable[[], Awaitable[None]], interval: float = 2.0) -> None:
        self.coordinator = coordinator
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.interval = interval
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._check()  # a lone instance leads at once, not one interval later
        if self.coordinator.shared:
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.leading:
            self.leading = False
            await self.on_deposed()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._check()
            except Exception:
                log.exception("leadership check failed; trying again")

    async def _check(self) -> None:
        leading = await self.coordinator.try_lead()
        if leading and not self.leading:
            log.info("this instance is now the leader")
            self.leading = True
            await self.on_elected()
        elif not leading and self.leading:
            log.warning("this instance is no longer the leader")
            self.leading = False
            await self.on_deposed()
