"""SIGTERM in the middle of a burst: Baton stops within seconds with status 0; after a restart every message
arrives exactly once (a graceful stop finishes what is in flight, so not even the crash window repeats)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.e2e.test_crash import (
    CUSTOMERS,
    PER_CUSTOMER,
    _config,
    _customer_posts,
    _spawn,
    _wait_last_echo,
    assert_mirrored_once_in_order,
)
from tests.support import databases


async def test_sigterm_mid_burst_exits_cleanly_and_delivers_exactly_once(tg: FakeTelegram, slack: FakeSlack,
                                                                        tmp_path: Path) -> None:
    config, log = _config(tg, slack, tmp_path), tmp_path / "baton.log"
    await databases.prepare(databases.url_for(tmp_path))  # on PostgreSQL the test's own database must exist
    process = _spawn(config, log)
    try:
        await slack.wait_for(lambda: slack.socket_connections == 1, timeout=30, what="Baton connected")
        for i in range(PER_CUSTOMER):
            for customer in CUSTOMERS:
                await tg.customer_sends(customer, f"{customer} says {i}")
        await slack.wait_for(lambda: sum(map(len, _customer_posts(slack).values())) >= 12, timeout=30,
                             what="part of the burst mirrored")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await _exit_code(process, timeout=10, log=log)
        took = time.monotonic() - started
        assert code == 0, log.read_text()
        assert took < 8, f"stopping took {took:.1f}s"
        assert "stopping" in log.read_text()

        process = _spawn(config, log)
        total = len(CUSTOMERS) * PER_CUSTOMER
        await slack.wait_for(lambda: sum(map(len, _customer_posts(slack).values())) >= total, timeout=60,
                             what=f"all {total} customer messages mirrored (log: {log})")
        for customer in CUSTOMERS:
            await _wait_last_echo(tg, customer)
        process.send_signal(signal.SIGTERM)
        assert await _exit_code(process, timeout=10, log=log) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    assert_mirrored_once_in_order(slack, CUSTOMERS, PER_CUSTOMER)
    for customer in CUSTOMERS:
        echoes = [m.text for m in tg.messages_to(customer)]
        numbers = [int(text.rsplit(" ", 1)[1]) for text in echoes]
        assert numbers == sorted(numbers) and len(numbers) == len(set(numbers)), echoes
        assert numbers[-1] == PER_CUSTOMER - 1


async def _exit_code(process: subprocess.Popen[bytes], *, timeout: float, log: Path) -> int:
    # Poll, never block: the sandboxes run on this event loop, and a stopping Baton still talks to them.
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no exit within {timeout:g} s of SIGTERM (log: {log})")
        await asyncio.sleep(0.05)
    return process.returncode
