"""The composition root: the only module that sees every part; starts them in order, stops in reverse."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

from bot.agent.base import Agent
from bot.agent.registry import build_agent
from bot.config import Settings
from bot.core.access import Access
from bot.core.agent_worker import AgentWorker
from bot.core.dispatch import Dispatcher
from bot.core.leader import Leadership
from bot.core.ports import Clock
from bot.core.service import Service
from bot.core.timers import Timers
from bot.telegram_io.adapter import TelegramAdapter
from operator_bridge.adapter import SlackAdapter
from operator_bridge.files import SlackFileFetcher
from storage.coordination import Coordinator
from storage.db import Database

log = logging.getLogger(__name__)


class Baton:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, agent: Agent | None = None,
                 retry_base_seconds: float = 1.0) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.db = Database(settings.storage.url)
        self.access = Access(settings.access.operators, settings.access.admins, settings.access.operator_group)
        self.dispatchers: list[Dispatcher] = []
        # Several instances may share one PostgreSQL: lanes and leadership are claimed through it.
        self.coordinator = Coordinator(self.db)
        self.leadership = Leadership(self.coordinator, on_elected=self._elected, on_deposed=self._deposed)
        self.service = Service(self.db, texts=settings.texts, access=self.access, clock=self.clock,
                               wake=self._wake_all, escalation=settings.escalation)
        # Each side fetches the other's files through a port, so neither imports the other's platform.
        self.telegram = TelegramAdapter(settings.telegram, self.service, self.db, fetch_operator_file=(
            SlackFileFetcher.for_api(settings.slack.bot_token, settings.slack.api_url)))
        self.slack = SlackAdapter(settings.slack, self.service, self.db,
                                  fetch_customer_file=self.telegram.fetch_customer_file)
        self.agent = agent or build_agent(settings.agent)
        worker = AgentWorker(self.service, self.agent, timeout=settings.agent.timeout_seconds,
                             typing=self.telegram.typing)
        for deliverer in (self.telegram.deliverer, self.slack.deliverer, worker):
            self.dispatchers.append(Dispatcher(self.db, deliverer, clock=self.clock,  # type: ignore[arg-type]
                                               retry_base_seconds=retry_base_seconds, on_settled=self._wake_all,
                                               coordinator=self.coordinator))
        self.timers = Timers(self.service, settings.timers, settings.escalation)
        # Jobs only sweep stored deadlines (bot/core/timers.py): no domain state lives in the scheduler.
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.started_at = time.monotonic()

    def _wake_all(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.wake()

    async def settled(self, timeout: float = 10.0) -> None:
        """Until every outbox row has left (or been dropped) and nothing is in flight."""

        async def all_idle() -> None:
            while True:
                await asyncio.gather(*(d.wait_idle() for d in self.dispatchers))
                # One dispatcher's delivery can enqueue work for another: idle together, or look again.
                if all(d.is_idle for d in self.dispatchers):
                    return

        await asyncio.wait_for(all_idle(), timeout)

    async def start(self) -> None:
        await self.db.upgrade()
        await self._start_http()
        await self.slack.start()
        for dispatcher in self.dispatchers:
            dispatcher.start()
        await self.telegram.start(poll=False)  # polling is the leader's (see _elected)
        self.scheduler.add_job(self._sweep_if_leader, "interval", seconds=self.settings.timers.sweep_seconds,
                               id="timers", max_instances=1, coalesce=True)
        self.scheduler.start()
        await self.leadership.start()
        log.info("Baton is running")

    async def _elected(self) -> None:
        if self.settings.telegram.mode == "polling":
            self.telegram.poller.start()

    async def _deposed(self) -> None:
        if self.settings.telegram.mode == "polling":
            await self.telegram.poller.stop()

    async def _sweep_if_leader(self) -> None:
        # Any instance may be asked by its scheduler; only the leader's sweep acts.
        if self.leadership.leading:
            await self.timers.sweep()

    async def stop(self) -> None:
        # Stop taking work first, then let in-flight deliveries end, then close connections.
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.leadership.stop()
        await self.telegram.stop()
        await self.slack.stop()
        for dispatcher in self.dispatchers:
            await dispatcher.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.coordinator.close()
        await self.db.dispose()

    async def _start_http(self) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        if self.settings.slack.mode == "http":
            app.router.add_post("/slack/events", self.slack.handle_http)
        if self.settings.telegram.mode == "webhook":
            app.router.add_post("/telegram/webhook", self.telegram.webhook_route())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.server.host, self.settings.server.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.server.port
        log.info("HTTP server on %s:%s", self.settings.server.host, self.port)

    async def _healthz(self, _request: web.Request) -> web.Response:
        checks: dict[str, Any] = {"telegram": self.telegram.poller.healthy}
        try:
            async with self.db.transaction() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            checks["database"] = True
        except Exception:
            checks["database"] = False
        ok = all(checks.values())
        return web.json_response({"ok": ok, "checks": checks,
                                  "uptime_seconds": round(time.monotonic() - self.started_at)},
                                 status=200 if ok else 503)


async def run_forever(settings: Settings) -> None:
    baton = Baton(settings)
    await baton.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await baton.stop()
