"""APScheduler keeps time for the workers (bot/core/workers.py): its jobs only wake a worker.

The scheduled work itself (a timer sweep, a campaign falling due) runs inside its worker, supervised and
drained at shutdown, never in APScheduler's executor: a job there would be cancelled half-way through a
transaction when the scheduler shuts down, and its failures would bypass the workers' backoff and counts.
Jobs are coroutine functions so they run on the event loop (APScheduler runs plain functions in a thread
pool, where waking an asyncio.Event is not safe).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

# APScheduler counts a job that starts this late as missed: an alarm that is late is still wanted.
_ALWAYS = None


def _waking(wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        wake()

    return job


class SchedulerAlarms:
    """The core's `Alarms` port on an AsyncIOScheduler, plus the interval jobs of the wiring."""

    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    def every(self, key: str, seconds: float, wake: Callable[[], None]) -> None:
        """Wake every `seconds`; a wake while the worker is busy is coalesced by the worker itself."""
        self.scheduler.add_job(_waking(wake), "interval", seconds=seconds, id=key, max_instances=1, coalesce=True,
                               replace_existing=True)

    def wake_in(self, key: str, seconds: float, wake: Callable[[], None]) -> None:
        # A date in the past would count as missed; a hundredth of a second from now is "at once".
        run_date = datetime.now(UTC) + timedelta(seconds=max(seconds, 0.01))
        self.scheduler.add_job(_waking(wake), "date", run_date=run_date, id=f"wake:{key}", replace_existing=True,
                               misfire_grace_time=_ALWAYS)

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
