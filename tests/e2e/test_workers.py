"""Background workers outlive what they did not expect: logged with a traceback, counted, run again."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.core.workers import Worker
from tests.support.harness import World

CAROL = 1001


def _on_failure(worker: Worker) -> asyncio.Event:
    """Set when `worker` next fails (after the runtime has counted it)."""
    failed = asyncio.Event()
    counted = worker.on_failure

    def hook(name: str, exc: BaseException) -> None:
        if counted is not None:
            counted(name, exc)
        failed.set()

    worker.on_failure = hook
    return failed


async def test_polling_goes_on_after_a_telegram_answer_it_cannot_read(world: World,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    baton = await world.start()
    poller = baton.telegram.poller.worker
    failed = _on_failure(poller)
    # A proxy answering getUpdates with something that is not a list of updates: python-telegram-bot raises
    # an AttributeError, which no Telegram-specific handler expects (it used to end polling for good).
    world.tg.garble_next("getUpdates", {"unexpected": "shape"})
    with caplog.at_level(logging.ERROR, logger="bot.core.workers"):
        await asyncio.wait_for(failed.wait(), timeout=30)

    await world.tg.customer_sends(CAROL, "Is anyone still listening?")
    root = await world.root()
    await world.thread_has(root["ts"], "Is anyone still listening?")
    assert poller.failures == 1 and poller.state == "running"
    assert any(r.exc_info and "telegram-polling" in r.getMessage() for r in caplog.records)
