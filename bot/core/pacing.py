"""Send budgets per chat or channel and overall, so Baton stays under platform limits instead of hitting 429s."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from aiolimiter import AsyncLimiter


class Pacer:
    """Leaky buckets: `burst` sends at once, then `rate` per second, per key and (optionally) overall."""

    def __init__(self, rate: float, burst: int = 1, *, overall_rate: float | None = None,
                 overall_burst: int | None = None, max_keys: int = 10_000) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self._overall = (AsyncLimiter(overall_burst or overall_rate, (overall_burst or overall_rate) / overall_rate)
                         if overall_rate else None)
        self._keys: OrderedDict[Hashable, AsyncLimiter] = OrderedDict()
        self._max_keys = max_keys

    def _bucket(self, key: Hashable) -> AsyncLimiter:
        bucket = self._keys.get(key)
        if bucket is None:
            bucket = self._keys[key] = AsyncLimiter(self.burst, self.burst / self.rate)
            if len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)  # the least recently used chat: its bucket has long drained
        else:
            self._keys.move_to_end(key)
        return bucket

    def has_capacity(self, key: Hashable) -> bool:
        overall_ok = self._overall is None or self._overall.has_capacity()
        return overall_ok and self._bucket(key).has_capacity()

    async def wait(self, key: Hashable) -> None:
        # The key's own budget first: waiting on it must not burn the shared budget meanwhile.
        await self._bucket(key).acquire()
        if self._overall is not None:
            await self._overall.acquire()
