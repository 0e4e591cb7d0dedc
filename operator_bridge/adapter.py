"""The Slack side assembled: Web API client, Bolt app, listeners, and the chosen transport."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings
from bot.core.campaigns import CampaignOps
from bot.core.media import FetchFile, no_fetch
from bot.core.pacing import Pacer
from bot.core.service import Service
from operator_bridge.admin import AdminCommands
from operator_bridge.campaigns import CampaignSlack
from operator_bridge.channel_watch import ChannelWatch
from operator_bridge.commands import SlashCommands
from operator_bridge.directory import Directory
from operator_bridge.files import SlackFileFetcher
from operator_bridge.history import History
from operator_bridge.home import AppHome
from operator_bridge.inbound import SlackInbound
from operator_bridge.links import Permalinks
from operator_bridge.outbound import SlackDeliverer
from storage.db import Database

log = logging.getLogger(__name__)


class SlackAdapter:
    def __init__(self, settings: SlackSettings, service: Service, db: Database, *,
                 fetch_customer_file: FetchFile = no_fetch, reload_kb: Callable[[], str] = lambda: "No agent.",
                 health: Callable[[], dict[str, Any]] = dict, campaigns: CampaignOps | None = None) -> None:
        self.settings = settings
        # The dispatcher owns retries (it knows the outbox); the client itself never retries.
        self.client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, retry_handlers=[])
        self.app = AsyncApp(client=self.client, signing_secret=settings.signing_secret or "unused-in-socket-mode",
                            request_verification_enabled=settings.mode == "http", process_before_response=False)
        self.directory = Directory(self.client, service.access)
        SlackInbound(self.app, service, self.directory, set(settings.conversation_channels)).register()
        links = Permalinks(self.client)
        history = History(self.app, db, service.access, links)
        history.register()
        admin = AdminCommands(self.app, service, self.directory, db, history, reload_kb=reload_kb, health=health)
        campaign_slack = None
        if campaigns is not None:
            campaign_slack = CampaignSlack(self.app, campaigns, self.directory, db, service.access, service.clock,
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
        # One connection pool for every Web API call: without it slack_sdk opens a session (and a TLS
        # context) per call, which dominated the cost of a relayed message in the benchmarks.
        self.client.session = aiohttp.ClientSession()
        auth = await self.client.auth_test()
        log.info("Slack: connected as %s in %s", auth.get("user"), auth.get("team"))
        await self.directory.refresh_group()
        self.directory.start()
        if self.settings.mode == "socket":
            # The Socket Mode client retries a refused app token forever: try it once here so it stops loudly.
            await self.client.apps_connections_open(app_token=self.settings.app_token or "")
            self._socket = AsyncSocketModeHandler(self.app, self.settings.app_token)
            await self._socket.connect_async()

    async def close(self) -> None:
        """After the dispatchers have drained: the Slack deliverer posts through this session."""
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    async def stop(self) -> None:
        await self.home.stop()
        await self.directory.stop()
        if self._socket is not None:
            await self._socket.close_async()

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: Bolt verifies the signature and the 5-minute window before anything else."""
        return await to_aiohttp_response(await self.app.async_dispatch(await to_bolt_request(request)))
