"""The playground (both sandboxes and Baton, as `make run` starts them) driven through a real Chromium.

Playwright's own browser download is not used: the tests drive the system's Chromium (Debian's
`chromium` package; `BATON_CHROMIUM` names another binary) and are skipped, saying why, without one.
Baton runs on its own event loop in a thread, so the tests can use Playwright's synchronous API. That
API keeps an event loop running in the main thread while it is open, so the browser lives for this
package only (one browser for all browser tests) and the async fixtures of tests/conftest.py are replaced.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.app import Baton
from sandbox.screenshots import CHROMIUM_ARGS, chromium_path
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support import databases


@dataclass
class Playground:
    tg: FakeTelegram
    slack: FakeSlack
    baton: Baton
    loop: asyncio.AbstractEventLoop
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(7001))

    def run(self, coro: Any, timeout: float = 20) -> Any:
        """Run a coroutine on the playground's loop (setup only: tests act through the pages)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def customer_id(self) -> int:
        return next(self._ids)


@pytest.fixture(autouse=True)
def _own_databases() -> None:
    """The playground keeps its own SQLite file; nothing to drop (and no asyncio runner may start here)."""


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found (install Debian's `chromium` or set BATON_CHROMIUM): browser tests skipped")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]'): browser tests skipped")
    expect.set_options(timeout=20_000)  # a loaded 2-core machine; expectations return as soon as they hold
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    from bot.demo import start_playground

    if databases.on_postgres():
        pytest.skip("the playground keeps its data in SQLite; the browser tests run in the SQLite pass")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="playground", daemon=True)
    thread.start()
    started: Future[tuple[FakeTelegram, FakeSlack, Baton]] = asyncio.run_coroutine_threadsafe(
        start_playground(0, tmp_path_factory.mktemp("playground")), loop)
    tg, slack, baton = started.result(60)
    # Slack allows an app 3 s to acknowledge; on a loaded shared 2-core machine a command can take longer,
    # and the page would rightly say it timed out. The walk-through is about what follows the ack.
    slack.ack_timeout = 15.0
    yield Playground(tg, slack, baton, loop)

    async def stop() -> None:
        await baton.stop()
        await slack.stop()
        await tg.stop()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Europe/Berlin")
    yield ctx
    ctx.close()
