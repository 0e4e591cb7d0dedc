"""Shared pieces of the benchmarks: sandboxes, a Baton subprocess, and reading its CPU time and memory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
CHANNEL, ALICE = "C0SUPPORT", "U0ALICE"
TICKS = os.sysconf("SC_CLK_TCK")


async def sandboxes() -> tuple[FakeTelegram, FakeSlack]:
    tg, slack = FakeTelegram(), FakeSlack()
    await tg.start()
    await slack.start()
    slack.add_channel(CHANNEL, "support")
    slack.add_user(ALICE, "alice", real_name="Alice Operator")
    return tg, slack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, tg: FakeTelegram, slack: FakeSlack, *, db_url: str, port: int,
                 paced: bool = False) -> Path:
    # Budgets high enough that Baton's own pacing adds nothing, unless `paced` (Slack's real 1/s per channel).
    slack_rate = "per_channel_per_second = 1\nper_channel_burst = 3" if paced else (
        "per_channel_per_second = 10000\nper_channel_burst = 10000\ntier3_per_minute = 1000000")
    path = tmp / "config.toml"
    path.write_text(f"""
[telegram]
token = "{tg.token}"
api_url = "{tg.url}"
poll_timeout = 1
per_chat_per_second = 10000
per_chat_burst = 10000
overall_per_second = 100000
[slack]
bot_token = "{slack.bot_token}"
app_token = "{slack.app_token}"
api_url = "{slack.api_url}"
channel = "{CHANNEL}"
spool_path = "{tmp / 'slack-spool.db'}"
{slack_rate}
[server]
host = "127.0.0.1"
port = {port}
[storage]
url = "{db_url}"
[agent]
backend = "tests.support.agents:EchoAgent"
[access]
operators = ["{ALICE}"]
[logging]
level = "WARNING"
""")
    return path


def spawn(args: list[str], log: Path, *, root: Path = ROOT, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(root), str(ROOT)]))}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)


def spawn_baton(config: Path, log: Path, *, root: Path = ROOT, counts: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Baton from the source tree `root` (another checkout measures an older version in the same run);
    with `counts`, through bench.counted, which writes its SQL counts there on SIGUSR1."""
    # As a script, so that `root`'s own bench package (an older checkout may lack it) is not the one imported.
    command = [str(ROOT / "bench" / "counted.py")] if counts is not None else ["-m", "bot"]
    args = [*command, "run", "--config", str(config), "--log-level", "WARNING"]
    profile = os.environ.get("BENCH_PROFILE")  # a path: record collapsed stacks with py-spy (see README)
    if profile:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        spy = str(Path(sys.executable).parent / "py-spy")
        with log.open("ab") as out:  # CPU and RSS figures are then py-spy's, not Baton's: profile only
            return subprocess.Popen([spy, "record", "--format", "raw", "-o", profile, "--", sys.executable, *args],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return spawn(args, log, root=root, env={**(env or {}), **({"BENCH_COUNTS": str(counts)} if counts else {})})


def _take_counts(path: Path) -> dict[str, int] | None:
    if not path.exists():
        return None
    counts = dict(json.loads(path.read_text()))
    path.unlink()
    return counts


async def sql_counts(process: subprocess.Popen[bytes], path: Path) -> dict[str, int]:
    """Statements and transactions so far, from a Baton started with `counts=path` (none under py-spy)."""
    if os.environ.get("BENCH_PROFILE"):
        return {"statements": 0, "transactions": 0}
    process.send_signal(signal.SIGUSR1)
    for _ in range(500):
        counts = _take_counts(path)
        if counts is not None:
            return counts
        await asyncio.sleep(0.02)
    raise RuntimeError("no SQL counts from Baton")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Seconds until /healthz answers 200."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError("Baton exited during startup")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return time.monotonic() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError("Baton did not become healthy")


async def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    # py-spy writes its profile on SIGINT (Ctrl-C); Baton stops gracefully on SIGTERM.
    process.send_signal(signal.SIGINT if os.environ.get("BENCH_PROFILE") else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 (a process, no event)
        await asyncio.sleep(0.05)  # never block: the sandboxes live on this loop
    if process.poll() is None:
        process.kill()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def customer_posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for root in slack.messages(CHANNEL) for m in slack.thread(CHANNEL, root["ts"])
            if (m.get("username") or "").endswith("(customer)")]
