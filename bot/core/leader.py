"""One leader among the instances: it alone runs the timer sweeps and polls Telegram.

Telegram allows a single getUpdates consumer per token, and two sweeps at once could both see the same
deadline before either records it. Leadership is a PostgreSQL session-level advisory lock (see
storage/coordination.py): when the leader dies its connection ends, the lock is free, and the next
instance to try (every `interval` seconds) takes over. On SQLite the only process leads from the start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.workers import Worker
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
        self.worker = Worker("leadership", self._poll, idle_seconds=interval)

    async def start(self) -> None:
        await self._check()  # a lone instance leads at once, not one interval later
        if self.coordinator.shared:
            self.worker.start(first_in=self.interval)

    async def stop(self) -> None:
        await self.worker.stop(grace=0)  # a check in hand is cut short: this instance is leaving anyway
        if self.leading:
            self.leading = False
            await self.on_deposed()

    async def _poll(self) -> None:
        try:
            await self._check()
        except Exception:  # the database away: try again at the next interval, not after a longer backoff
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
