"""`baton run` that cannot start says which setting is wrong and how to fix it, in a few lines, no token."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support import databases
from tests.support.processes import run_baton, write_config

WRONG_TG_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"


@pytest.fixture(autouse=True)
async def _database(tmp_path: Path) -> None:
    """The database the config names exists (on PostgreSQL it must be created), so only the tested part fails."""
    await databases.prepare(databases.url_for(tmp_path))


def _error_block(stderr: str) -> list[str]:
    """The lines after the log lines: what a person reads at the end of the output."""
    lines = stderr.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Baton cannot start"))
    return lines[start:]


def _assert_short_and_clean(stderr: str, *secrets: str) -> list[str]:
    assert "Traceback" not in stderr and "File \"" not in stderr, stderr[-3000:]
    for secret in secrets:
        assert secret not in stderr
    block = _error_block(stderr)
    assert len(block) <= 4, block
    return block


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections for the whole test: bound and not listening, so that nothing else
    (Baton's own server, a sandbox) can be given it meanwhile, as a port merely found free could be."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


async def test_a_refused_telegram_token_names_the_key_not_the_token(
        tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> None:
    config = write_config(tmp_path, tg, slack, telegram={"token": WRONG_TG_TOKEN})
    code, _, err = await run_baton("run", "--config", str(config))
    assert code == 1
    block = _assert_short_and_clean(err, WRONG_TG_TOKEN, WRONG_TG_TOKEN.split(":")[1])
    assert "telegram.token: Telegram refused the bot token" in block[1]
    assert "TELEGRAM_BOT_TOKEN" in block[1] and "@BotFather" in block[1]


async def test_a_refused_slack_bot_token_names_the_key(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> None:
    config = write_config(tmp_path, tg, slack, slack={"bot_token": "xoxb-1-2-refused"})
    code, _, err = await run_baton("run", "--config", str(config))
    assert code == 1
    block = _assert_short_and_clean(err, "xoxb-1-2-refused")
    assert "slack.bot_token: Slack refused the bot token (invalid_auth from auth.test)" in block[1]
    assert "SLACK_BOT_TOKEN" in block[1]


async def test_a_refused_app_token_stops_instead_of_retrying_forever(
        tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> None:
    config = write_config(tmp_path, tg, slack)
    code, _, err = await run_baton("run", "--config", str(config), env={"SLACK_APP_TOKEN": "xapp-1-A1-refused"})
    assert code == 1
    block = _assert_short_and_clean(err, "xapp-1-A1-refused")
    assert "slack.app_token: Slack refused the app-level token" in block[1] and "SLACK_APP_TOKEN" in block[1]


async def test_an_unreachable_slack_names_the_url(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path,
                                                  closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/api/"
    config = write_config(tmp_path, tg, slack, slack={"api_url": url})
    code, _, err = await run_baton("run", "--config", str(config))
    assert code == 1
    block = _assert_short_and_clean(err, slack.bot_token)
    assert f"slack.api_url: cannot reach Slack at {url}" in block[1]


async def test_a_port_in_use_names_the_server_setting(tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = write_config(tmp_path, tg, slack, server={"port": busy.getsockname()[1]})
        code, _, err = await run_baton("run", "--config", str(config))
    assert code == 1
    block = _assert_short_and_clean(err)
    assert "server.port: cannot listen on" in block[1]


async def test_an_unreachable_database_names_storage_url_without_its_password(
        tg: FakeTelegram, slack: FakeSlack, tmp_path: Path, closed_port: int) -> None:
    url = f"postgresql+asyncpg://baton:s3cretpw@127.0.0.1:{closed_port}/baton"
    config = write_config(tmp_path, tg, slack, storage={"url": url})
    code, _, err = await run_baton("run", "--config", str(config))
    assert code == 1
    block = _assert_short_and_clean(err, "s3cretpw")
    assert "storage.url: cannot open the database postgresql+asyncpg://baton:***@127.0.0.1" in block[1]
    assert "BATON_STORAGE_URL" in block[1]
