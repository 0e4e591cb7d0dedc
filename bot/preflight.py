"""`baton check-config`: every problem at once, each with its key and the fix.

The file first (every setting, the agent); then, unless offline, what Telegram and Slack say about it:
the tokens (getMe, auth.test, apps.connections.open in Socket Mode), the channels (exist, bot is a
member, not archived), the operator user group and the people in [access]. A section with problems of
its own is still checked online when it parses on its own, so one run names everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import (
    ENV_SECRETS,
    AccessSettings,
    ConfigError,
    Settings,
    SlackSettings,
    TelegramSettings,
    _apply_env,
    load_settings,
)
from bot.startup import slack_problem, token_fix

TIMEOUT = 15.0


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # what the platforms confirmed, for the success message
    settings: Settings | None = None


def _with_env(problem: str) -> str:
    """Name the environment variable that overrides a key, where the message does not already."""
    key = problem.split(":", 1)[0]
    for var, (section, name) in ENV_SECRETS.items():
        if key == f"{section}.{name}" and var not in problem:
            return f"{problem} (or set {var})"
    return problem


def _sections(path: Path, env: dict[str, str] | None) -> tuple[Any, Any, Any]:
    """The telegram, slack and access sections that are valid on their own (None for the others)."""
    try:
        data = _apply_env(tomllib.loads(path.read_text(encoding="utf-8")), dict(os.environ) if env is None else env)
    except (OSError, ValueError):
        return None, None, None
    found = []
    for model, name in ((TelegramSettings, "telegram"), (SlackSettings, "slack"), (AccessSettings, "access")):
        try:
            found.append(model.model_validate(data.get(name) or {}))
        except ValidationError:
            found.append(None)
    return found[0], found[1], found[2]


async def check(path: Path, *, online: bool = True, env: dict[str, str] | None = None) -> Report:
    report = Report()
    try:
        report.settings = settings = load_settings(path, env)
    except ConfigError as exc:
        report.problems += exc.problems
        telegram, slack, access = _sections(path, env)
    else:
        telegram, slack, access = settings.telegram, settings.slack, settings.access
        report.problems += _agent_problems(settings)
    if online:
        results = await asyncio.gather(_telegram(telegram) if telegram else _nothing(),
                                       _slack(slack, access) if slack else _nothing())
        for problems, facts in results:
            report.problems += problems
            report.facts += facts
    report.problems = [_with_env(p) for p in report.problems]
    return report


async def _nothing() -> tuple[list[str], list[str]]:
    return [], []


def _agent_problems(settings: Settings) -> list[str]:
    """The knowledge base reads cleanly (errors name the line) and the model loads; nothing is indexed."""
    from bot.agent.registry import AgentConfigError, check_agent

    try:
        check_agent(settings.agent, settings.texts)
    except (AgentConfigError, OSError, ValueError) as exc:
        return [f"agent: {exc}"]
    return []


def _unreachable(key: str, what: str, url: str, exc: BaseException) -> str:
    return (f"{key}: cannot reach {what} at {url} ({type(exc).__name__}). Fix: check this host's network, proxy "
            f"and firewall, or [{key.split('.')[0]}] api_url.")


async def _telegram(settings: TelegramSettings) -> tuple[list[str], list[str]]:
    root = settings.api_url.rstrip("/")
    bot = Bot(settings.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
    try:
        async with asyncio.timeout(TIMEOUT):
            await bot.initialize()  # getMe
        return [], [f"Telegram bot @{bot.username}"]
    except InvalidToken:  # its message holds the token: never shown
        return [f"telegram.token: Telegram refused the bot token (Unauthorized). Fix: {token_fix('telegram.token')}."
                ], []
    except (TelegramError, OSError, TimeoutError) as exc:
        return [_unreachable("telegram.api_url", "the Telegram Bot API", settings.api_url, exc)], []
    finally:
        with contextlib.suppress(TelegramError):
            await bot.shutdown()


async def _slack(settings: SlackSettings, access: AccessSettings | None) -> tuple[list[str], list[str]]:
    from bot.slack_preflight import SlackChecks

    client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=int(TIMEOUT),
                            retry_handlers=[])
    client.session = aiohttp.ClientSession()
    checks = SlackChecks(client, settings)
    try:
        async with asyncio.timeout(TIMEOUT * 2):
            await checks.run(access)
    except SlackApiError as exc:
        checks.problems.append(slack_problem(exc, settings.api_url))
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        checks.problems.append(_unreachable("slack.api_url", "Slack", settings.api_url, exc))
    finally:
        await client.session.close()
    return checks.problems, checks.facts
