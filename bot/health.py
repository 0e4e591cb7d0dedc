"""/healthz: red (503) when a platform token is rejected, a Slack channel refuses posts, or the database is away.

Platform checks call Telegram getMe and Slack auth.test, cached for `platform_ttl` seconds so a load
balancer polling every second does not spend the platforms' rate limits. Only a rejected token turns a
platform red: a network blip or a platform outage is not fixed by restarting Baton, so it is reported
("unreachable") without failing the check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from telegram.error import InvalidToken, TelegramError

from storage.db import Database

log = logging.getLogger(__name__)

SLACK_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
Probe = Callable[[], Awaitable[str]]  # "ok", "unreachable" (still green) or "invalid_token" (red)
RED = {"invalid_token", "channel_error"}


class Health:
    def __init__(self, db: Database, *, telegram: Probe, slack: Probe, telegram_polling_ok: Callable[[], bool],
                 platform_ttl: float = 30.0, db_timeout: float = 3.0,
                 slack_problems: Callable[[], list[str]] = list,
                 workers: Callable[[], dict[str, Any]] = dict) -> None:
        self.db = db
        self.workers = workers  # background workers' states: a failing one is visible here, not silent
        self.slack_problems = slack_problems
        self.probes = {"telegram": telegram, "slack": slack}
        self.telegram_polling_ok = telegram_polling_ok
        self.platform_ttl = platform_ttl
        self.db_timeout = db_timeout
        self.started_at = time.monotonic()
        self._cache: dict[str, tuple[float, str]] = {}

    async def _platform(self, name: str) -> str:
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.platform_ttl:
            return cached[1]
        try:
            status = await asyncio.wait_for(self.probes[name](), timeout=5)
        except Exception as exc:  # a slow or broken platform: say so, but do not ask for a restart
            log.debug("health probe %s: %s", name, exc)
            status = "unreachable"
        self._cache[name] = (time.monotonic(), status)
        return status

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(self.db_timeout), self.db.transaction() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            return "ok"
        except Exception as exc:
            log.warning("health: database unreachable: %s", type(exc).__name__)
            return "unreachable"

    async def check(self) -> tuple[bool, dict[str, Any]]:
        telegram, slack, database = await asyncio.gather(self._platform("telegram"), self._platform("slack"),
                                                         self._database())
        if telegram == "ok" and not self.telegram_polling_ok():
            telegram = "invalid_token"  # getUpdates answered 401 since the last getMe
        problems = self.slack_problems()  # channels Slack refuses posts to (operator_bridge/channel_watch.py)
        if problems and slack != "invalid_token":
            slack = "channel_error"
        checks = {"telegram": telegram, "slack": slack, "database": database}
        failing = sorted(name for name, status in checks.items()
                         if status in RED or (name == "database" and status != "ok"))
        body: dict[str, Any] = {"ok": not failing, "failing": failing, "checks": checks,
                                "uptime_seconds": round(time.monotonic() - self.started_at)}
        if problems:
            body["problems"] = problems
        workers = self.workers()
        if workers:
            body["workers"] = workers
        return not failing, body

    async def handler(self, _request: web.Request) -> web.Response:
        ok, body = await self.check()
        return web.json_response(body, status=200 if ok else 503)


def telegram_probe(get_me: Callable[[], Awaitable[Any]]) -> Probe:
    async def probe() -> str:
        try:
            await get_me()
            return "ok"
        except InvalidToken:
            return "invalid_token"
        except TelegramError:
            return "unreachable"

    return probe


def slack_probe(auth_test: Callable[[], Awaitable[Any]]) -> Probe:
    async def probe() -> str:
        try:
            await auth_test()
            return "ok"
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            return "invalid_token" if error in SLACK_AUTH_ERRORS else "unreachable"

    return probe
