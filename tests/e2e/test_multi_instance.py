"""Two Baton processes on one PostgreSQL, one killed with SIGKILL mid-burst: nothing lost, doubled or reordered.

Telegram (webhook) and Slack (HTTP) can each call one URL, so a tiny round-robin proxy in the test stands
in for a load balancer: it spreads requests over both instances and, like Telegram's retry, sends a
request that found an instance dead to the other one.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.e2e.test_crash import assert_mirrored_once_in_order
from tests.support import databases
from tests.support.harness import ALICE, BOB, CHANNEL, WEBHOOK_SECRET

pytestmark = [databases.postgres_only("several instances need PostgreSQL"), pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = list(range(3001, 3101))  # 100 conversations
PER_CUSTOMER = 10  # 1,000 customer messages
TAKEN_OVER = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path, port: int, tg_proxy: str, url: str) -> Path:
    path = tmp_path / f"config-{port}.toml"
    path.write_text(f"""
[telegram]
token = "{tg.token}"
api_url = "{tg.url}"
mode = "webhook"
webhook_url = "{tg_proxy}/telegram/webhook"
webhook_secret = "{WEBHOOK_SECRET}"
per_chat_per_second = 100
per_chat_burst = 100
overall_per_second = 2000
[slack]
bot_token = "{slack.bot_token}"
signing_secret = "{slack.signing_secret}"
api_url = "{slack.api_url}"
spool_path = "{tmp_path / f'slack-spool-{port}.db'}"
mode = "http"
channel = "{CHANNEL}"
per_channel_per_second = 2000
per_channel_burst = 2000
tier3_per_minute = 120000
[server]
host = "127.0.0.1"
port = {port}
[storage]
url = "{url}"
[agent]
backend = "tests.support.agents:EchoAgent"
[access]
operators = ["{ALICE}", "{BOB}"]
[timers]
takeover_idle_minutes = 0.1
takeover_idle_warning_minutes = 0.05
sweep_seconds = 0.3
""")
    return path


def _spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


class RoundRobin:
    """Forwards each request to the next live backend; a dead one is skipped (the request goes on)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turn = 0
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in range(2 * len(self.backends)):
            self.turn += 1
            backend = self.backends[self.turn % len(self.backends)]
            try:
                async with self.session.post(backend + request.path_qs, data=body, headers=headers) as resp:
                    return web.Response(body=await resp.read(), status=resp.status,
                                        content_type=resp.content_type)
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[RoundRobin, str]]:
    rr = RoundRobin([])
    rr.session = aiohttp.ClientSession()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rr.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield rr, f"http://127.0.0.1:{port}"
    await rr.session.close()
    await runner.cleanup()


async def _healthy(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"instance on port {port} never became healthy")


def _thread_texts(slack: FakeSlack) -> dict[str, list[dict[str, object]]]:
    return {root["ts"]: slack.thread(CHANNEL, root["ts"]) for root in slack.messages(CHANNEL)}


CUSTOMER_TEXT = re.compile(r"(?<!echo: )\b(\d{4} says \d+)")


def _customer_posts(slack: FakeSlack) -> dict[str, list[str]]:
    """Customer texts in each thread, in order; a busy thread's mirrors may be folded into one post."""
    return {ts: [t for m in msgs if "echo: " not in str(m.get("text") or "")
                 for t in CUSTOMER_TEXT.findall(str(m.get("text") or ""))]
            for ts, msgs in _thread_texts(slack).items()}


def _notes(slack: FakeSlack, ts: str, needle: str) -> int:
    return sum(needle in str(m.get("text") or "") for m in slack.thread(CHANNEL, ts))


async def _send_round(tg: FakeTelegram, i: int) -> None:
    await asyncio.gather(*(tg.customer_sends(c, f"{c} says {i}") for c in CUSTOMERS))


async def test_two_instances_one_killed_mid_burst(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path,
                                                   proxy: tuple[RoundRobin, str]) -> None:
    rr, proxy_url = proxy
    tg.webhook_retries = 5  # as Telegram does when a webhook answers an error or drops the connection
    for c in CUSTOMERS:
        tg.add_customer(c, f"Cust{c}")
    url = databases.url_for(tmp_path)
    await databases.prepare(url)
    ports = [_free_port(), _free_port()]
    rr.backends = [f"http://127.0.0.1:{p}" for p in ports]
    log = tmp_path / "baton.log"
    processes = [_spawn(_config(tg, slack, tmp_path, p, proxy_url, url), log) for p in ports]
    try:
        await asyncio.gather(*(_healthy(p) for p in ports))
        slack.events_url = f"{proxy_url}/slack/events"

        for i in range(PER_CUSTOMER // 2):
            await _send_round(tg, i)
        roots = await slack.wait_for(lambda: len(slack.messages(CHANNEL)) >= len(CUSTOMERS) and slack.messages(CHANNEL),
                                     timeout=30, what="a thread per conversation")
        taken = [root["ts"] for root in roots[:TAKEN_OVER]]
        # Two operators press Take over at once, through different instances: exactly one may win.
        await asyncio.gather(*(slack.click_button(op, CHANNEL, ts, "takeover") for ts in taken for op in (ALICE, BOB)))

        second_half = asyncio.create_task(_rest(tg))
        await asyncio.sleep(0.3)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        await second_half

        total = len(CUSTOMERS) * PER_CUSTOMER
        try:
            await slack.wait_for(lambda: sum(map(len, _customer_posts(slack).values())) >= total, timeout=45,
                                 what=f"all {total} customer messages mirrored (log: {log})")
        except AssertionError:
            posts = [p for ps in _customer_posts(slack).values() for p in ps]
            missing = sorted({f"{c} says {i}" for c in CUSTOMERS for i in range(PER_CUSTOMER)} - set(posts))
            raise AssertionError(f"{len(posts)} mirrored; missing {missing[:20]}; log {log}") from None
        await slack.wait_for(lambda: all(_notes(slack, ts, "handed the conversation back") for ts in taken),
                             timeout=30, what="idle owners' conversations handed back by the timer")
        await asyncio.sleep(1.5)  # several more sweeps: a timer that fires twice would show now
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)

    assert_mirrored_once_in_order(slack, CUSTOMERS, PER_CUSTOMER)
    for ts in taken:
        assert _notes(slack, ts, "took over") == 1, "one owner per conversation"
        assert _notes(slack, ts, "no reply here for") == 1, "the idle warning fired once"
        assert _notes(slack, ts, "handed the conversation back") == 1, "the idle hand back fired once"


async def _rest(tg: FakeTelegram) -> None:
    for i in range(PER_CUSTOMER // 2, PER_CUSTOMER):
        await _send_round(tg, i)
