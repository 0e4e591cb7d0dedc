"""Background workers: one supervised loop abstraction for every long-running part of Baton.

A `Worker` runs one `step` again and again: after each step it waits until it is woken (`wake()`), until
the delay the step returned has passed, or until it is stopped. A step that raises is logged with its
traceback, counted, reported to the runtime (metrics, /healthz), and run again after a capped exponential
backoff: no worker dies silently, and none spins on a persistent error. `stop(grace)` lets the step in
hand finish for up to `grace` seconds (it may be committing), then cancels it.

`Workers` is the runtime the composition root owns: it tracks every worker (for /healthz, /metrics and a
last check at shutdown) and gives them their `Alarms`, the port through which a worker is woken at a later
time. The core may not import a scheduler library, so the split is:
- the core says *when*: `worker.wake_in(seconds)` (a scheduled campaign falls due), and a worker with no
  poll interval of its own only runs when woken (the timer sweeps);
- the wiring decides *what keeps time*: bot/scheduling.py implements `Alarms` with APScheduler and adds
  its interval jobs (the timer sweeps) as calls to `wake()`. The scheduled work itself always runs inside
  its worker, supervised and drained at shutdown like everything else, never in the scheduler's executor.
Without a runtime (unit tests) a worker's alarms are plain `loop.call_later` timers.

Short-lived tasks, one per key (a dispatcher's lanes, the Slack spool's lanes), are not workers: they end
when their lane is drained. They are spawned in a TaskGroup (bot/core/tasks.py), which keeps them
referenced, logs their failures, and drains and cancels them at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

# One step of a worker; returns the seconds until the next step (unless woken sooner), or None for the
# worker's `idle_seconds`.
Step = Callable[[], Awaitable[float | None]]
FailureHook = Callable[[str, BaseException], None]


class Alarms(Protocol):
    def wake_in(self, key: str, seconds: float, wake: Callable[[], None]) -> None:
        """Call `wake` in `seconds`, replacing the alarm set earlier under `key`."""


class LoopAlarms:
    """Alarms on the event loop's own timers: for a worker not tracked by a runtime."""

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def wake_in(self, key: str, seconds: float, wake: Callable[[], None]) -> None:
        previous = self._handles.pop(key, None)
        if previous is not None:
            previous.cancel()
        self._handles[key] = asyncio.get_running_loop().call_later(max(seconds, 0.0), wake)


def backoff_seconds(failures_in_a_row: int, base: float, cap: float) -> float:
    """base, 2·base, 4·base, … never more than `cap`."""
    return min(cap, base * 2.0 ** min(max(failures_in_a_row - 1, 0), 30))


class Worker:
    def __init__(self, name: str, step: Step, *, idle_seconds: float | None = None, backoff_base: float = 0.5,
                 backoff_max: float = 30.0, ticks: bool = False) -> None:
        self.name = name
        self._step = step
        self.idle_seconds = idle_seconds  # None: only a wake (or an alarm) runs the next step
        # Woken by a periodic job: a wake that comes while a step runs is dropped, not run right after it,
        # so a step that outlasts the period is not run back to back (APScheduler's own max_instances=1).
        self.ticks = ticks
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.alarms: Alarms = LoopAlarms()
        self.on_failure: FailureHook | None = None
        self.failures = 0  # since the process started
        self.failures_in_a_row = 0
        self.last_error: str | None = None
        # Set from stop() until the next start(): steps check it (or wait on it) to end their work early.
        self.stop_requested = asyncio.Event()
        self._wake = asyncio.Event()
        # Set while no step runs and none is due at once (for `wait_idle`: tests and drains wait on it).
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set()

    @property
    def state(self) -> str:
        if not self.running:
            return "stopped"
        return "retrying" if self.failures_in_a_row else "running"

    def start(self, *, first_in: float | None = 0.0) -> None:
        """Run the first step in `first_in` seconds (None: when woken). A no-op while running (or still
        finishing a stop)."""
        if self.running:
            return
        self.stop_requested.clear()
        if first_in == 0:
            self._idle.clear()
        self._task = asyncio.create_task(self._run(first_in), name=self.name)

    def wake(self) -> None:
        """Run the next step now (after the step in hand, if any), not at the end of the wait."""
        self._wake.set()
        if self.running:
            self._idle.clear()

    @property
    def is_idle(self) -> bool:
        """No step runs and none is due at once (one may be due later, by its alarm or its idle wait)."""
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def wake_in(self, seconds: float) -> None:
        """Run a step in `seconds` (sooner if woken); replaces the alarm this worker set before."""
        self.alarms.wake_in(self.name, seconds, self.wake)

    async def stop(self, grace: float | None = 5.0) -> None:
        """Let the step in hand finish for up to `grace` seconds (None: as long as it takes), then cancel it."""
        self.stop_requested.set()
        self._wake.set()
        task = self._task
        if task is None:
            return
        if not task.done() and (grace is None or grace > 0):
            await asyncio.wait({task}, timeout=grace)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if self._task is task:
            self._task = None

    async def _run(self, first_in: float | None) -> None:
        try:
            await self._loop(first_in)
        finally:
            self._idle.set()

    async def _loop(self, first_in: float | None) -> None:
        wait: float | None = first_in
        while True:
            if wait is None or wait > 0:
                await self._sleep(wait)
            else:
                await asyncio.sleep(0)  # a step that asks to run again at once still lets others run
            if self.stopping:
                return
            self._wake.clear()
            self._idle.clear()
            try:
                result = await self._step()
            except Exception as exc:  # CancelledError is not an Exception: a stop still goes through
                delay = self._failed(exc)
                self._idle.set()  # a backoff is a wait, not work in hand
                # Wakes do not cut a backoff short (a burst of them would make it a busy loop); a stop does.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self.stop_requested.wait()
                wait = 0.0
                continue
            self.failures_in_a_row = 0
            if self.ticks:
                self._wake.clear()
            wait = self.idle_seconds if result is None else result
            if not self._wake.is_set() and (wait is None or wait > 0):
                self._idle.set()

    async def _sleep(self, timeout: float | None) -> None:
        if self._wake.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    def _failed(self, exc: Exception) -> float:
        self.failures += 1
        self.failures_in_a_row += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        delay = backoff_seconds(self.failures_in_a_row, self.backoff_base, self.backoff_max)
        log.error("worker %s failed (%d in a row); running it again in %.1f s", self.name, self.failures_in_a_row,
                  delay, exc_info=exc)
        if self.on_failure is not None:
            try:
                self.on_failure(self.name, exc)
            except Exception:  # reporting must never be what stops a worker
                log.exception("worker %s: failure hook failed", self.name)
        return delay


class Workers:
    """The runtime: every worker of one Baton, their alarms, and where their failures are reported."""

    def __init__(self, *, alarms: Alarms | None = None, on_failure: FailureHook | None = None) -> None:
        self.alarms = alarms
        self.on_failure = on_failure
        self._workers: dict[str, Worker] = {}

    def track(self, *workers: Worker) -> None:
        for worker in workers:
            if worker.name in self._workers and self._workers[worker.name] is not worker:
                raise ValueError(f"two workers named {worker.name}")
            self._workers[worker.name] = worker
            if self.alarms is not None:
                worker.alarms = self.alarms
            worker.on_failure = self.on_failure

    def __iter__(self) -> Iterator[Worker]:
        return iter(list(self._workers.values()))

    def report(self) -> dict[str, dict[str, Any]]:
        """For /healthz: each worker's state and failures (a failing worker is `retrying`, not gone)."""
        return {w.name: {"state": w.state, "failures": w.failures, **({"last_error": w.last_error}
                                                                        if w.failures_in_a_row else {})}
                for w in self._workers.values()}

    async def stop_all(self, grace: float = 5.0) -> None:
        """Stop whatever is still running, in parallel (each part normally stopped its own already)."""
        running = [w for w in self._workers.values() if w.running]
        if running:
            log.warning("stopping workers still running at shutdown: %s", ", ".join(w.name for w in running))
            await asyncio.gather(*(w.stop(grace) for w in running))
