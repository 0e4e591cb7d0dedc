"""The README's first command without a config: the scripted sandbox conversation plays to the end."""

from __future__ import annotations

import logging
import re

import pytest

from bot.demo import run_demo


async def test_the_demo_plays_the_whole_story(capsys: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # the default level of `make run`
    await run_demo(0, keep_running=False)
    out = capsys.readouterr().out
    # What Slack would show, not its markup; no library announcing its start-up.
    assert "🚨 Needs a human: no confident answer" in out
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
