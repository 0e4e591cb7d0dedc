"""`baton check-config` asks Telegram and Slack (the sandboxes) and names every problem at once."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support.harness import ADMIN, ALICE
from tests.support.processes import write_config

ALERTS, ELSEWHERE, GROUP = "C0ALERTS", "C0ELSEWHERE", "S0OPERATORS"
WRONG_TG_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"


async def check(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    # The command runs its own event loop; the sandboxes answer from the test's loop meanwhile.
    result = await asyncio.to_thread(CliRunner().invoke, app, ["check-config", "--config", str(config), *args],
                                     env=env)
    return result.exit_code, result.output


def _workspace(slack: FakeSlack) -> None:
    slack.add_channel(ALERTS, "alerts")
    slack.add_channel(ELSEWHERE, "random")
    slack.add_usergroup(GROUP, "operators", [ALICE])


async def test_a_good_config_is_confirmed_by_both_platforms(tg: FakeTelegram, slack: FakeSlack,
                                                            tmp_path: Path) -> None:
    _workspace(slack)
    config = write_config(tmp_path, tg, slack, slack={"alerts_channel": ALERTS},
                          access={"operators": [ALICE], "admins": [ADMIN], "operator_group": GROUP})
    code, out = await check(config)
    assert code == 0, out
    assert "is valid" in out and "Confirmed online: Telegram bot @" in out
    assert "Slack workspace Baton Sandbox as @baton" in out and "#support" in out and "#alerts" in out
    called = {name for name, _ in slack.calls}
    assert {"auth.test", "apps.connections.open", "conversations.info", "usergroups.users.list",
            "users.info"} <= called


async def test_every_problem_is_named_at_once_with_its_key_and_fix(tg: FakeTelegram, slack: FakeSlack,
                                                                   tmp_path: Path) -> None:
    _workspace(slack)
    slack.bot_leaves(ALERTS)
    config = write_config(tmp_path, tg, slack, telegram={"token": WRONG_TG_TOKEN},
                          slack={"channels": ["C0MISSING", ELSEWHERE], "channel": None, "alerts_channel": ALERTS},
                          server={"port": 99999},
                          access={"operators": [ALICE, "U0NOBODY"], "operator_group": "S0NOGROUP"})
    code, out = await check(config, env={"SLACK_APP_TOKEN": "xapp-1-A1-refused"})
    assert code == 2
    problems = [line for line in out.splitlines() if line.startswith("  - ")]
    expected = [
        "server.port: Input should be less than or equal to 65535",
        "telegram.token: Telegram refused the bot token (Unauthorized). Fix: copy the token from @BotFather",
        "slack.app_token: Slack refused the app-level token (invalid_auth from apps.connections.open)",
        "slack.channels: Slack has no channel C0MISSING that the bot can see (channel_not_found). Fix:",
        "slack.alerts_channel: the bot is not a member of #alerts (C0ALERTS), so it cannot post there "
        "(not_in_channel). Fix: run `/invite @baton` in #alerts.",
        "access.operator_group: Slack cannot list user group S0NOGROUP (no_such_subteam).",
        "access.operators: Slack has no member U0NOBODY (user_not_found).",
    ]
    for needle in expected:
        assert any(needle in p for p in problems), f"missing {needle!r} in\n{out}"
    assert len(problems) == len(expected), out
    assert "TELEGRAM_BOT_TOKEN" in out and "SLACK_APP_TOKEN" in out
    assert WRONG_TG_TOKEN.split(":")[1] not in out and "xapp-1-A1-refused" not in out and "Traceback" not in out


async def test_a_refused_bot_token_and_an_unreachable_slack(tg: FakeTelegram, slack: FakeSlack,
                                                            tmp_path: Path) -> None:
    config = write_config(tmp_path, tg, slack, slack={"bot_token": "xoxb-1-2-refused"})
    code, out = await check(config)
    assert code == 2
    assert "slack.bot_token: Slack refused the bot token (invalid_auth from auth.test)" in out
    assert "SLACK_BOT_TOKEN" in out and "xoxb-1-2-refused" not in out

    with socket.socket() as s:  # bound, not listening: refuses connections, and nothing else can take it
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        config = write_config(tmp_path, tg, slack, slack={"api_url": f"http://127.0.0.1:{closed}/api/"})
        code, out = await check(config)
    assert code == 2
    assert f"slack.api_url: cannot reach Slack at http://127.0.0.1:{closed}/api/" in out
    assert "Telegram" not in out.split("slack.api_url")[0].split("problems in")[1]  # Telegram itself was fine


async def test_offline_refuses_the_examples_placeholders_and_bad_urls(tmp_path: Path) -> None:
    (tmp_path / "knowledge.md").write_text("## Q?\nA.\n")
    (tmp_path / "config.toml").write_text(
        '[telegram]\ntoken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"\nmode = "webhook"\n'
        'webhook_url = "http://baton.example.org:8080/telegram/webhook"\nwebhook_secret = "s3cret"\n'
        '[slack]\nbot_token = "xoxb-1-2-abc"\napp_token = "xapp-1-A1-abc"\nchannel = "C0123456789"\n'
        'alerts_channel = "C0987654321"\napi_url = "slack.com/api"\n'
        '[access]\noperators = ["U0123ABCD"]\noperator_group = "S0123ABCD"\n')
    code, out = await check(tmp_path / "config.toml", "--offline")
    assert code == 2
    for needle in ("telegram: webhook_url 'http://baton.example.org:8080/telegram/webhook' must be https",
                   "slack.api_url: 'slack.com/api' is not an http(s) URL",
                   "slack.channel: 'C0123456789' is the placeholder",
                   "slack.alerts_channel: 'C0987654321' is the placeholder",
                   "access.operators: 'U0123ABCD' is the placeholder", "access.operator_group: 'S0123ABCD' is the"):
        assert needle in out, f"missing {needle!r} in\n{out}"
    fixed = (tmp_path / "config.toml").read_text().replace("http://baton.example.org:8080",
                                                          "https://baton.example.org:8443")
    for placeholder, mine in (("C0123456789", "C0MINE"), ("C0987654321", "C0ALERTSMINE"), ("U0123ABCD", "U0ME"),
                              ("S0123ABCD", "S0MINE"), ('"slack.com/api"', '"https://slack.com/api/"')):
        fixed = fixed.replace(placeholder, mine)
    (tmp_path / "config.toml").write_text(fixed.replace("8443", "9443"))
    code, out = await check(tmp_path / "config.toml", "--offline")
    assert code == 2 and "port 9443 is not one Telegram delivers to; use 443, 80, 88 or 8443" in out
    (tmp_path / "config.toml").write_text(fixed)
    code, out = await check(tmp_path / "config.toml", "--offline")
    assert code == 0, out
    assert "Not checked with Telegram and Slack (--offline)" in out
    # A local Bot API server (or the sandbox) takes any http(s) webhook address.
    (tmp_path / "config.toml").write_text(fixed.replace('mode = "webhook"', 'mode = "webhook"\napi_url = '
                                                        '"http://127.0.0.1:8081"').replace(
        "https://baton.example.org:8443", "http://127.0.0.1:8080"))
    code, out = await check(tmp_path / "config.toml", "--offline")
    assert code == 0, out
