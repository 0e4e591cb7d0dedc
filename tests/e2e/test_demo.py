"""The README's first command without a config: the scripted sandbox conversation plays to the end."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.demo import run_demo


async def test_the_demo_plays_the_whole_story(capsys: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # the default level of `make run`
    await run_demo(0, keep_running=False)
    out = capsys.readouterr().out
    # What Slack would show, not its markup; no library announcing its start-up.
    assert "🚨 Needs a human: no entry above" in out
    assert not re.search(r":[a-z_]+:|<!date|\*\w[^*\n]*\*|<@U", out), out
    noisy = [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING]
    assert not noisy, noisy
    for line in ("Alice → bot: How long does shipping take?",
                 "bot → Alice: Orders leave our warehouse",
                 "Needs a human",
                 "Olivia: presses [Take over]",
                 "bot → Alice: You're now talking with Olivia.",
                 "bot → Alice: Hi Alice, Olivia here!",
                 "Alice Martin (customer): Thank you so much!",
                 "bot → Alice: You're back with our automated assistant.",
                 "The sandboxes keep running"):
        assert line in out, f"missing from the demo output: {line!r}"


async def _demo_until(line: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "demo", "--port", "0",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    seen: list[str] = []
    while not any(line in s for s in seen):
        out = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert out, f"the demo ended before {line!r}:\n{''.join(seen)}"
        seen.append(out.decode())
    return proc, seen


@pytest.mark.parametrize("when", ["The sandboxes keep running", "Baton is running against the local sandboxes"])
async def test_sigterm_stops_the_demo_and_removes_its_files(when: str) -> None:
    proc, seen = await _demo_until(when)
    workdir = Path(re.search(r"database in (\S+?),", "".join(seen)).group(1))  # type: ignore[union-attr]
    assert workdir.exists()
    proc.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, rest.decode()
    assert "Stopped." in rest.decode() and "Traceback" not in rest.decode()
    assert not workdir.exists()
