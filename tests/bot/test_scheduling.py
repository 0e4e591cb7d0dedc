"""APScheduler keeps the time and only wakes workers; the work runs in the worker, on the event loop."""

from __future__ import annotations

import asyncio
import threading

from bot.core.workers import Worker, Workers
from bot.scheduling import SchedulerAlarms


async def test_an_alarm_wakes_its_worker_on_the_event_loop_thread() -> None:
    alarms = SchedulerAlarms()
    alarms.start()
    woke = asyncio.Event()
    threads: list[threading.Thread] = []

    def wake() -> None:
        threads.append(threading.current_thread())
        woke.set()

    try:
        alarms.wake_in("soon", -5.0, wake)  # already due: at once, not dropped as a missed run
        await asyncio.wait_for(woke.wait(), timeout=10)
    finally:
        alarms.shutdown()
    assert threads == [threading.main_thread()]  # an asyncio.Event may only be set from the loop's thread


async def test_interval_jobs_drive_the_steps_of_a_worker_that_has_no_timer_of_its_own() -> None:
    alarms = SchedulerAlarms()
    steps: list[int] = []
    ran = asyncio.Event()

    async def sweep() -> None:
        steps.append(len(steps))
        if len(steps) >= 2:
            ran.set()

    worker = Worker("sweeps", sweep)
    Workers(alarms=alarms).track(worker)
    worker.start(first_in=None)  # idle_seconds None: only the scheduler's wakes run it
    alarms.every("sweeps", 0.01, worker.wake)
    alarms.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=10)
    finally:
        alarms.shutdown()
        await worker.stop()
    assert steps[:2] == [0, 1] and not worker.running
