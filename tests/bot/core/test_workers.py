"""The worker runtime: a failing step is logged, counted and run again; wakes are prompt; stops drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from bot.core.workers import Worker, Workers, backoff_seconds


class Steps:
    """A step that records each run, can be told to fail or to block, and lets a test await a run count."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail_next = 0
        self.block: asyncio.Event | None = None
        self.cancelled = False
        self.finished = 0
        self._changed = asyncio.Event()

    async def __call__(self) -> float | None:
        self.runs += 1
        self._changed.set()
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError(f"step {self.runs} broke")
        if self.block is not None:
            try:
                await self.block.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        self.finished += 1
        self._changed.set()
        return None

    async def until(self, done: Callable[[], bool]) -> None:
        while not done():
            self._changed.clear()
            await self._changed.wait()


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, 0.5, 4.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_a_step_that_raises_once_is_logged_counted_and_the_worker_keeps_working(
        caplog: pytest.LogCaptureFixture) -> None:
    failed: list[tuple[str, str]] = []
    workers = Workers(on_failure=lambda name, exc: failed.append((name, str(exc))))
    steps = Steps()
    steps.fail_next = 1
    worker = Worker("flaky", steps, idle_seconds=None, backoff_base=0.0)
    workers.track(worker)
    with caplog.at_level(logging.ERROR, logger="bot.core.workers"):
        worker.start()
        await steps.until(lambda: steps.finished == 1)  # run again after the failure, with no wake
    assert failed == [("flaky", "step 1 broke")]
    assert worker.failures == 1 and worker.state == "running"
    [record] = [r for r in caplog.records if "flaky" in r.getMessage()]
    assert record.exc_info is not None and "step 1 broke" in str(record.exc_info[1])

    worker.wake()  # still alive: a wake runs it again
    await steps.until(lambda: steps.finished == 2)
    assert workers.report()["flaky"] == {"state": "running", "failures": 1}
    await workers.stop_all()
    assert worker.state == "stopped"


async def test_a_failing_worker_is_retrying_until_its_backoff_ends_and_a_wake_does_not_cut_it_short() -> None:
    workers = Workers()
    steps = Steps()
    steps.fail_next = 1
    worker = Worker("broken", steps, idle_seconds=None, backoff_base=3600.0)
    workers.track(worker)
    worker.start()
    await steps.until(lambda: steps.runs == 1)
    for _ in range(5):  # let the failure be recorded and the backoff begin
        await asyncio.sleep(0)
    worker.wake()
    for _ in range(5):
        await asyncio.sleep(0)
    assert steps.runs == 1
    report = workers.report()["broken"]
    assert report["state"] == "retrying" and report["failures"] == 1 and "step 1 broke" in report["last_error"]
    await worker.stop()  # a stop does cut the backoff short
    assert worker.state == "stopped" and steps.runs == 1


async def test_wake_runs_the_step_at_once_not_after_the_idle_interval() -> None:
    steps = Steps()
    worker = Worker("sleepy", steps, idle_seconds=3600.0)
    worker.start()
    await steps.until(lambda: steps.finished == 1)
    worker.wake()
    await steps.until(lambda: steps.finished == 2)
    worker.wake_in(0.0)  # an alarm (the loop's own timer here; APScheduler's in the wiring)
    await steps.until(lambda: steps.finished == 3)
    await worker.stop()


async def test_alarms_of_a_tracked_worker_go_to_the_runtime() -> None:
    asked: list[tuple[str, float]] = []

    class Recorded:
        def wake_in(self, key: str, seconds: float, wake: Callable[[], None]) -> None:
            asked.append((key, seconds))
            wake()

    steps = Steps()
    worker = Worker("campaigns", steps)
    Workers(alarms=Recorded()).track(worker)
    worker.start(first_in=3600.0)
    worker.wake_in(90.0)
    await steps.until(lambda: steps.finished == 1)
    assert asked == [("campaigns", 90.0)]
    await worker.stop()


async def test_stop_lets_the_step_in_hand_finish_within_the_grace() -> None:
    steps = Steps()
    steps.block = asyncio.Event()
    worker = Worker("draining", steps)
    worker.start()
    await steps.until(lambda: steps.runs == 1)
    stopping = asyncio.create_task(worker.stop(grace=60.0))
    await asyncio.sleep(0)
    assert not stopping.done() and worker.stopping
    steps.block.set()  # the step in hand finishes: it is not cancelled, and no other step starts
    await stopping
    assert steps.finished == 1 and not steps.cancelled and steps.runs == 1 and worker.state == "stopped"


async def test_shutdown_stops_every_worker_within_the_drain_timeout() -> None:
    workers = Workers()
    stuck, idle = Steps(), Steps()
    stuck.block = asyncio.Event()  # never set: this step would run forever
    workers.track(Worker("stuck", stuck), Worker("idle", idle, idle_seconds=None))
    for worker in workers:
        worker.start()
    await stuck.until(lambda: stuck.runs == 1)
    await idle.until(lambda: idle.finished == 1)
    await workers.stop_all(grace=0.01)
    assert stuck.cancelled and idle.finished == 1
    assert {name: r["state"] for name, r in workers.report().items()} == {"stuck": "stopped", "idle": "stopped"}


async def test_a_worker_starts_again_after_a_stop() -> None:
    steps = Steps()
    worker = Worker("leader-only", steps)
    worker.start()
    await steps.until(lambda: steps.finished == 1)
    await worker.stop()
    assert worker.stopping
    worker.start()
    await steps.until(lambda: steps.finished == 2)
    assert not worker.stopping
    await worker.stop()


async def test_a_ticking_worker_drops_the_ticks_that_come_while_it_is_busy() -> None:
    steps = Steps()
    steps.block = asyncio.Event()
    worker = Worker("sweeps", steps, ticks=True)
    worker.start()
    await steps.until(lambda: steps.runs == 1)
    worker.wake()  # a tick during a long step: skipped, as APScheduler skips a job still running
    steps.block.set()
    await steps.until(lambda: steps.finished == 1)
    for _ in range(5):
        await asyncio.sleep(0)
    assert steps.runs == 1
    worker.wake()  # the next tick runs it
    await steps.until(lambda: steps.finished == 2)
    await worker.stop()


async def test_a_woken_worker_is_busy_until_the_step_it_was_woken_for_has_run() -> None:
    steps = Steps()
    steps.block = asyncio.Event()
    worker = Worker("sender", steps, idle_seconds=None)
    assert worker.is_idle  # not started: nothing in hand
    worker.start(first_in=None)
    await asyncio.wait_for(worker.wait_idle(), 1)
    worker.wake()
    assert not worker.is_idle  # woken: a step is due at once
    await steps.until(lambda: steps.runs == 1)
    assert not worker.is_idle  # the step is running
    steps.block.set()
    await asyncio.wait_for(worker.wait_idle(), 1)
    assert steps.finished == 1
    await worker.stop()
