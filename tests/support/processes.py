"""`baton` as a subprocess, as a person would run it: a config file written from the sandboxes' addresses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support import databases
from tests.support.harness import CHANNEL


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_config(tmp_path: Path, tg: FakeTelegram, fake_slack: FakeSlack, /, **overrides: dict[str, Any]) -> Path:
    """config.toml for Baton on the sandboxes; `overrides` replace keys per section (None removes one)."""
    (tmp_path / "knowledge.md").write_text("## How long does shipping take?\nTwo to three days.\n")
    data: dict[str, dict[str, Any]] = {
        "telegram": {"token": tg.token, "api_url": tg.url, "poll_timeout": 1},
        "slack": {"bot_token": fake_slack.bot_token, "app_token": fake_slack.app_token, "api_url": fake_slack.api_url,
                  "channel": CHANNEL},
        "server": {"host": "127.0.0.1", "port": 0},
        "storage": {"url": databases.url_for(tmp_path)},
        "agent": {"knowledge_base": "knowledge.md"},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in values.items() if v is not None]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def run_baton(*args: str, env: dict[str, str] | None = None, timeout: float = 45
                    ) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` to its end: (exit code, stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "BATON_STORAGE"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**clean, "COLUMNS": "200", **(env or {})})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"baton {' '.join(args)} did not end in {timeout} s\n{err.decode()[-3000:]}") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
