"""Send budgets per chat or channel and overall, so Baton stays under platform limits instead of hitting 429s.

One process keeps its budgets in memory (aiolimiter). Several instances on one PostgreSQL share them
through the database (`share`, storage/pacing.py): Telegram's and Slack's limits are per bot and per
workspace, not per process, so two instances pacing alone would together send twice the allowed rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import Protocol

from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)


class Budgets(Protocol):
    """Budgets kept outside this process (storage.pacing.SharedBudgets)."""

    async def reserve(self, key: str, interval: float, burst: int) -> tuple[float, float]: ...

    async def would_wait(self, key: str, interval: float, burst: int) -> float: ...


class Pacer:
    """Leaky buckets: `burst` sends at once, then `rate` per second, per key and (optionally) overall."""

    def __init__(self, rate: float, burst: int = 1, *, overall_rate: float | None = None,
                 overall_burst: int | None = None, max_keys: int = 10_000) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.overall_rate, self.overall_burst = overall_rate, overall_burst or overall_rate
        self._overall = (AsyncLimiter(self.overall_burst, self.overall_burst / overall_rate)  # type: ignore[arg-type,operator]
                         if overall_rate else None)
        self._keys: OrderedDict[Hashable, tuple[AsyncLimiter, asyncio.Lock]] = OrderedDict()
        self._max_keys = max_keys
        self._shared: Budgets | None = None
        self._name = ""

    @property
    def held(self) -> int:
        """Chats or channels whose budget this process holds in memory. (Not __len__: an empty pacer must
        stay truthy.)"""
        return len(self._keys)

    def share(self, budgets: Budgets, name: str) -> None:
        """Keep this pacer's budgets in `budgets` under `name` (the same name on every instance)."""
        self._shared, self._name = budgets, name

    def _bucket(self, key: Hashable) -> tuple[AsyncLimiter, asyncio.Lock]:
        bucket = self._keys.get(key)
        if bucket is None:
            # A bucket that has drained and has no waiter is the same as a new one: forget it. Oldest first,
            # so the map holds the chats sending lately, not every chat ever seen (a soak of thousands of
            # customers grew it without end, up to max_keys).
            while self._keys:
                limiter, turn = next(iter(self._keys.values()))
                if turn.locked() or not limiter.has_capacity(limiter.max_rate):
                    break
                self._keys.popitem(last=False)
            bucket = self._keys[key] = (AsyncLimiter(self.burst, self.burst / self.rate), asyncio.Lock())
            if len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)  # the least recently used chat: its bucket has long drained
        else:
            self._keys.move_to_end(key)
        return bucket

    async def has_capacity(self, key: Hashable) -> bool:
        """Whether a send to `key` could leave now, without taking a slot."""
        if self._shared is not None:
            try:
                return await self._shared.would_wait(f"{self._name}:{key}", 1 / self.rate, self.burst) == 0
            except Exception as exc:
                log.warning("shared pacing budget unavailable (%s); using this instance's own", exc)
        overall_ok = self._overall is None or self._overall.has_capacity()
        limiter, turn = self._bucket(key)
        return overall_ok and not turn.locked() and limiter.has_capacity()

    async def wait(self, key: Hashable) -> bool:
        """Until a send to `key` may leave (its slot is then taken); whether that meant waiting, i.e. the
        budget was at its limit (the caller may then fold what queued meanwhile into this send)."""
        if self._shared is not None:
            try:
                return await self._wait_shared(self._shared, key)
            except Exception as exc:  # the database is away: pacing alone is better than not sending
                log.warning("shared pacing budget unavailable (%s); using this instance's own", exc)
        # The key's own budget first: waiting on it must not burn the shared budget meanwhile. Waiters take
        # turns (asyncio.Lock wakes them in order): the limiter alone lets a newcomer take a freed slot
        # from a waiter it just woke, which sends it to the back, so threads sharing a channel could wait
        # many rounds instead of one.
        limiter, turn = self._bucket(key)
        waits = turn.locked() or not limiter.has_capacity() or (
            self._overall is not None and not self._overall.has_capacity())
        async with turn:
            await limiter.acquire()
        if self._overall is not None:
            await self._overall.acquire()
        return waits

    async def _wait_shared(self, budgets: Budgets, key: Hashable) -> bool:
        _, delay = await budgets.reserve(f"{self._name}:{key}", 1 / self.rate, self.burst)
        await asyncio.sleep(delay)
        waited = delay > 0
        if self.overall_rate:
            assert self.overall_burst is not None
            _, delay = await budgets.reserve(f"{self._name}:*", 1 / self.overall_rate, int(self.overall_burst))
            await asyncio.sleep(delay)
            waited = waited or delay > 0
        return waited
