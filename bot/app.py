"""The composition root: the only module that sees every part; starts them in order, stops in reverse."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.agent.base import Agent
from bot.agent.registry import build_agent
from bot.config import Settings
from bot.core.access import Access
from bot.core.admin_ops import refresh_access
from bot.core.agent_worker import AgentWorker
from bot.core.broadcast import CampaignSender
from bot.core.dispatch import Dispatcher
from bot.core.leader import Leadership
from bot.core.ports import Clock
from bot.core.service import Service
from bot.core.timers import Timers
from bot.core.workers import Worker, Workers
from bot.health import Health, slack_probe, telegram_probe
from bot.metrics import Metrics
from bot.scheduling import SchedulerAlarms
from bot.startup import StartupFailed
from bot.telegram_io.adapter import TelegramAdapter
from operator_bridge.adapter import SlackAdapter
from operator_bridge.files import SlackFileFetcher
from storage.coordination import Coordinator
from storage.db import Database
from storage.pacing import SharedBudgets

log = logging.getLogger(__name__)


class Baton:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, agent: Agent | None = None,
                 retry_base_seconds: float = 1.0) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.db = Database(settings.storage.url, busy_timeout=settings.storage.busy_timeout_seconds)
        self.access = Access(settings.access.operators, settings.access.admins, settings.access.operator_group)
        self.dispatchers: list[Dispatcher] = []
        self.metrics = Metrics()
        # Several instances may share one PostgreSQL: lanes and leadership are claimed through it.
        self.coordinator = Coordinator(self.db)
        self.leadership = Leadership(self.coordinator, on_elected=self._elected, on_deposed=self._deposed)
        # Whoever writes outbox rows, the dispatchers of their destinations are woken after the commit.
        self.db.on_enqueued = self._wake_destinations
        self.service = Service(self.db, texts=settings.texts, access=self.access, clock=self.clock,
                               wake=self._conversations_changed, escalation=settings.escalation,
                               campaign_reply_days=settings.campaigns.reply_window_days,
                               campaign_progress_seconds=settings.campaigns.progress_seconds,
                               wake_campaigns=lambda: self.campaigns.wake(), observer=self.metrics)
        # Each side fetches the other's files through a port, so neither imports the other's platform.
        self.telegram = TelegramAdapter(settings.telegram, self.service, self.db, fetch_operator_file=(
            SlackFileFetcher.for_api(settings.slack.bot_token, settings.slack.api_url)),
            campaign_per_second=settings.campaigns.per_second)
        self.agent = agent or build_agent(settings.agent, settings.texts)
        self.slack = SlackAdapter(settings.slack, self.service, self.db,
                                  fetch_customer_file=self.telegram.fetch_customer_file,
                                  reload_kb=self._reload_kb, health=self._health, campaigns=True,
                                  spool_path=slack_spool_path(settings), retry_base_seconds=retry_base_seconds)
        self.campaigns = CampaignSender(self.db, settings.campaigns, clock=self.clock, handle=self.service.handle,
                                        wake_outbox=self._wake_dispatchers)
        worker = AgentWorker(self.service, self.agent, timeout=settings.agent.timeout_seconds,
                             typing=self.telegram.typing, observer=self.metrics)
        for deliverer in (self.telegram.deliverer, self.slack.deliverer, worker):
            # Delivery outcomes go through the core's entry point, in the dispatcher's own transaction.
            self.dispatchers.append(Dispatcher(self.db, deliverer, handle_in=self.service.handle_in,  # type: ignore[arg-type]
                                               clock=self.clock, retry_base_seconds=retry_base_seconds,
                                               observer=self.metrics, coordinator=self.coordinator))
        self.budgets = SharedBudgets(self.db) if self.coordinator.shared else None
        if self.budgets is not None:
            # Telegram's and Slack's limits are per bot and workspace: instances share the budgets.
            for name, pacer in (("telegram", self.telegram.pacer), ("slack.post", self.slack.deliverer.post_pacer),
                                ("slack.tier3", self.slack.deliverer.tier3_pacer),
                                ("campaign", self.telegram.campaign_pacer)):
                pacer.share(self.budgets, name)
        self.timers = Timers(self.service, settings.timers, settings.escalation)
        # APScheduler keeps time and only wakes workers (bot/scheduling.py); the sweeps run in their worker,
        # and only sweep stored deadlines (bot/core/timers.py): no domain state lives in the scheduler.
        self.alarms = SchedulerAlarms()
        self.sweeper = Worker("timer-sweeps", self._sweep_if_leader, ticks=True)
        # Every background worker, for /healthz, /metrics and a last check at shutdown.
        self.workers = Workers(alarms=self.alarms, on_failure=self.metrics.worker_failed)
        self.workers.track(self.sweeper, self.campaigns.worker, self.leadership.worker, self.telegram.poller.worker,
                           self.slack.directory.worker, self.slack.home.worker, *(d.worker for d in self.dispatchers))
        self.health = Health(self.db, telegram=telegram_probe(self.telegram.bot.get_me),
                             slack=slack_probe(self.slack.client.auth_test),
                             telegram_polling_ok=lambda: self.telegram.poller.healthy,
                             slack_problems=self.slack.deliverer.watch.reasons, workers=self.workers.report)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.started_at = time.monotonic()
        self._owns_agent = agent is None  # one passed in is the caller's to close
        self.starting = "configuration"

    def _wake_dispatchers(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.wake()
        self._conversations_changed()

    def _wake_destinations(self, lanes: set[tuple[str, str]]) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.hint(lane for destination, lane in lanes if destination == dispatcher.destination)

    def _conversations_changed(self) -> None:
        # App Home views of recent visitors refresh (debounced).
        self.slack.home.poke()

    def _reload_kb(self) -> str:
        load = getattr(self.agent, "load", None)
        if load is None:
            return f"The {self.settings.agent.backend} agent has no knowledge base to reload."
        load()
        count = len(getattr(self.agent, "entries", []) or [])
        return f"Knowledge base reloaded: {count} entries."

    def _health(self) -> dict[str, Any]:
        knowledge = getattr(self.agent, "knowledge", self.agent)  # the openai backend's FAQ index
        status = getattr(knowledge, "status", None)
        return {"telegram": self.telegram.poller.healthy if self.settings.telegram.mode == "polling" else True,
                "uptime_seconds": round(time.monotonic() - self.started_at),
                "knowledge_base": status() if callable(status) else None}

    async def settled(self, timeout: float = 10.0) -> None:
        """Until every outbox row has left (or been dropped), nothing is in flight and the campaign sender
        has looked at what it was woken for."""
        busy = [*self.dispatchers, self.campaigns.worker]

        async def all_idle() -> None:
            while True:
                await asyncio.gather(*(d.wait_idle() for d in busy))
                # One dispatcher's delivery can enqueue work for another: idle together, or look again.
                if all(d.is_idle for d in busy):
                    return

        await asyncio.wait_for(all_idle(), timeout)

    async def start(self) -> None:
        # `starting` names the part being started, so a failure can be explained (bot/startup.py).
        self.starting = "database"
        await self.db.upgrade()
        # People added from Slack (`/baton operators|admins add`) join the config lists before anyone acts.
        await refresh_access(self.db, self.access)
        self.starting = "spool"
        await self.slack.open_spool()
        self.starting = "http"
        await self._start_http()
        self.starting = "slack"
        await self.slack.start()
        for dispatcher in self.dispatchers:
            dispatcher.start()
        self.starting = "telegram"
        await self.telegram.start(poll=False)  # polling is the leader's (see _elected)
        self.starting = "scheduler"
        self.sweeper.start(first_in=None)  # the first sweep when the scheduler first wakes it
        self.alarms.every("timers", self.settings.timers.sweep_seconds, self.sweeper.wake)
        self.alarms.start()
        await self.leadership.start()
        log.info("Baton is running")

    async def _elected(self) -> None:
        # One getUpdates consumer per token, and one campaign sender: both are the leader's.
        if self.settings.telegram.mode == "polling":
            self.telegram.poller.start()
        self.campaigns.start()

    async def _deposed(self) -> None:
        if self.settings.telegram.mode == "polling":
            await self.telegram.poller.stop()
        await self.campaigns.stop()

    async def _sweep_if_leader(self) -> None:
        # Any instance may be asked by its scheduler; only the leader's sweep acts.
        if self.leadership.leading:
            await self.timers.sweep()

    async def stop(self) -> None:
        # Stop taking work first (timers, polling, Socket Mode, then the HTTP server, which lets requests in
        # hand finish committing); then let in-flight deliveries end, in parallel; then close connections.
        # The Telegram client closes last: the Telegram dispatcher still sends through it while draining.
        self.alarms.shutdown()
        await self.sweeper.stop()  # a sweep in hand finishes its transaction
        await self.leadership.stop()
        await self.campaigns.stop()
        await self.telegram.stop_intake()
        await self.slack.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.gather(*(dispatcher.stop() for dispatcher in self.dispatchers))
        await self.workers.stop_all()  # none should be left; one started while stopping would be
        await self.telegram.close()
        await self.slack.close()
        # An agent built here from the settings may hold connections (the openai backend's client).
        close = getattr(self.agent, "aclose", None) if self._owns_agent else None
        if close is not None:
            await close()
        await self.coordinator.close()
        if self.budgets is not None:
            await self.budgets.close()
        await self.db.dispose()

    async def _start_http(self) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_get("/healthz", self.health.handler)
        app.router.add_get("/metrics", self.metrics.handler(self.db))
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


def slack_spool_path(settings: Settings) -> Path:
    """Where acknowledged Slack inputs wait until applied: a local file, beside a SQLite database."""
    if settings.slack.spool_path is not None:
        return settings.slack.spool_path
    url = make_url(settings.storage.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".slack-spool")
    return Path(os.environ.get("BATON_SLACK_SPOOL_PATH") or "baton-slack-spool.db")


async def run_forever(settings: Settings) -> None:
    """Until SIGINT/SIGTERM. A part that cannot start raises StartupFailed after what did start is stopped."""
    baton = Baton(settings)
    try:
        await baton.start()
    except Exception as exc:
        step = baton.starting
        log.debug("start failed while starting %s", step, exc_info=True)
        try:
            await baton.stop()
        except Exception:
            log.debug("stop after a failed start", exc_info=True)
        raise StartupFailed(step, exc) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await baton.stop()
