"""The Slack side assembled: Web API client, Bolt app, listeners, and the chosen transport."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings
from bot.core.admin_ops import sync_access
from bot.core.handles import Database
from bot.core.media import FetchFile, no_fetch
from bot.core.pacing import Pacer
from bot.core.service import Service
from operator_bridge import http_guard
from operator_bridge.admin import AdminCommands
from operator_bridge.campaigns import CampaignSlack
from operator_bridge.channel_watch import ChannelWatch
from operator_bridge.commands import SlashCommands
from operator_bridge.directory import Directory
from operator_bridge.durable import DurableApp
from operator_bridge.files import SlackFileFetcher
from operator_bridge.history import History
from operator_bridge.home import AppHome
from operator_bridge.inbound import SlackInbound
from operator_bridge.links import Permalinks
from operator_bridge.outbound import SlackDeliverer
from operator_bridge.spool import SpoolRunner
from operator_bridge.spool_store import SpoolStore

log = logging.getLogger(__name__)


class SlackAdapter:
    def __init__(self, settings: SlackSettings, service: Service, db: Database, *,
                 fetch_customer_file: FetchFile = no_fetch, reload_kb: Callable[[], str] = lambda: "No agent.",
                 health: Callable[[], dict[str, Any]] = dict, campaigns: bool = False,
                 spool_path: Path = Path("baton-slack-spool.db"), retry_base_seconds: float = 0.5) -> None:
        self.settings = settings
        # The dispatcher owns retries (it knows the outbox); the client itself never retries. A call gives
        # up after api_timeout_seconds, so one hung request cannot hold a conversation's lane for minutes.
        self.client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, retry_handlers=[],
                                     timeout=max(1, round(settings.api_timeout_seconds)))
        # Every Slack input is spooled before it is acknowledged and applied from the spool (durable.py).
        self.spool = SpoolRunner(SpoolStore(spool_path), self.client,
                                 give_up_seconds=settings.spool_give_up_minutes * 60,
                                 retry_base_seconds=min(retry_base_seconds, 0.5))
        self.app = DurableApp(runner=self.spool, client=self.client,
                              signing_secret=settings.signing_secret or "unused-in-socket-mode",
                              request_verification_enabled=settings.mode == "http", process_before_response=False,
                              before_apply=self._current_access)
        self._verifier = SignatureVerifier(settings.signing_secret or "unused-in-socket-mode")
        self.directory = Directory(self.client, service.access)
        self._db, self._access = db, service.access
        SlackInbound(self.app, service, self.directory, set(settings.conversation_channels)).register()
        links = Permalinks(self.client)
        history = History(self.app, db, service.access, links, service)
        history.register()
        admin = AdminCommands(self.app, service, self.directory, db, history, reload_kb=reload_kb, health=health)
        campaign_slack = None
        if campaigns:
            campaign_slack = CampaignSlack(self.app, service, self.directory, db, service.access, service.clock,
                                           fetch_file=SlackFileFetcher.for_api(settings.bot_token, settings.api_url))
            campaign_slack.register()
        SlashCommands(self.app, service, self.directory, db, admin, campaigns=campaign_slack).register()
        self.home = AppHome(self.app, db, service.access, links, service.clock,
                            min_interval=settings.home_refresh_seconds)
        self.home.register()
        self.deliverer = SlackDeliverer(
            self.client, db, channels=settings.conversation_channels, agent_name=settings.agent_name,
            agent_icon_emoji=settings.agent_icon_emoji,
            post_pacer=Pacer(settings.per_channel_per_second, settings.per_channel_burst),
            tier3_pacer=Pacer(settings.tier3_per_minute / 60, 20), alerts_channel=settings.alerts_channel,
            fetch_customer_file=fetch_customer_file,
            watch=ChannelWatch(self.client, admins=lambda: service.access.admins))
        self._socket: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        self.home.start()
        # One connection pool for every Web API call: without it slack_sdk opens a session (and a TLS
        # context) per call, which dominated the cost of a relayed message in the benchmarks.
        # The session's timeout is the one that counts (slack_sdk's own applies only to sessions it makes).
        self.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.api_timeout_seconds))
        auth = await self.client.auth_test()
        log.info("Slack: connected as %s in %s", auth.get("user"), auth.get("team"))
        await self.directory.refresh_group()
        self.directory.start()
        # Inputs left in the spool by the last run are applied first (who is an operator is known by now),
        # before Slack sends new ones.
        await self.spool.start()
        if self.settings.mode == "socket":
            # The Socket Mode client retries a refused app token forever: try it once here so it stops loudly.
            await self.client.apps_connections_open(app_token=self.settings.app_token or "")
            self._socket = AsyncSocketModeHandler(self.app, self.settings.app_token)
            await self._socket.connect_async()

    async def open_spool(self) -> None:
        """Before the HTTP server listens: a Slack request is spooled from the first one on."""
        await self.spool.open()

    async def close(self) -> None:
        """After the dispatchers have drained: the Slack deliverer posts through this session."""
        await self.spool.stop()
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    async def stop(self) -> None:
        await self.home.stop()
        await self.directory.stop()
        if self._socket is not None:
            await self.app.drain()
            await self._socket.close_async()

    async def _current_access(self) -> None:
        """Before each input is applied (after Slack was answered, so never in the 3-second window): access
        decisions see what other instances changed."""
        try:
            await sync_access(self._db, self._access)
        except Exception as exc:  # the database away: decide on the lists loaded last rather than not at all
            log.warning("could not check for access changes (%s); using the lists loaded last", type(exc).__name__)

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: the signature and the 5-minute window are verified before anything else."""
        parsed = await http_guard.bolt_request(self._verifier, request)
        if isinstance(parsed, web.Response):
            return parsed
        return await to_aiohttp_response(await self.app.async_dispatch(parsed))
