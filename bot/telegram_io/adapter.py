"""The Telegram side assembled: PTB Application (custom Bot API root), inbound, outbound, transport."""

from __future__ import annotations

import logging

from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.config import TelegramSettings
from bot.core.handles import Database
from bot.core.media import FetchFile, no_fetch
from bot.core.pacing import Pacer
from bot.core.service import Service
from bot.telegram_io.bot_api_http import AiohttpRequest
from bot.telegram_io.campaigns import CampaignDelivery, CampaignSend
from bot.telegram_io.inbound import TelegramInbound
from bot.telegram_io.media import CustomerFileFetcher
from bot.telegram_io.outbound import TelegramDeliverer
from bot.telegram_io.polling import ALLOWED_UPDATES, TelegramPoller
from bot.telegram_io.webhook import webhook_handler

log = logging.getLogger(__name__)


class TelegramAdapter:
    def __init__(self, settings: TelegramSettings, service: Service, db: Database, *,
                 fetch_operator_file: FetchFile = no_fetch, campaign_per_second: float = 20.0) -> None:
        self.settings = settings
        root = settings.api_url.rstrip("/")
        # Baton reads updates itself (see polling.py) so it can confirm them only after commit: no Updater.
        # Bot API calls over aiohttp (bot_api_http.py); long polls on a connection of their own.
        self._transports = (AiohttpRequest(pool_size=64), AiohttpRequest(pool_size=1))
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder().token(settings.token).base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
            .request(self._transports[0]).get_updates_request(self._transports[1]).updater(None).build())
        self.bot = self.application.bot
        self.inbound = TelegramInbound(service)
        self.pacer = pacer = Pacer(settings.per_chat_per_second, settings.per_chat_burst,
                                   overall_rate=settings.overall_per_second)
        self.send_campaign = CampaignSend(self.bot, pacer)
        # Burst 1: an even spacing, so a campaign never eats the whole overall Telegram budget at once.
        self.campaign_pacer = Pacer(campaign_per_second, 1)
        self.deliverer = TelegramDeliverer(self.bot, db, pacer, fetch_operator_file=fetch_operator_file,
                                           campaigns=CampaignDelivery(self.send_campaign, db, self.campaign_pacer))
        # The port the Slack side uses to fetch customers' files; the Bot and its token stay here.
        self.fetch_customer_file = CustomerFileFetcher(self.bot)
        self.poller = TelegramPoller(self.bot, self.inbound, timeout=settings.poll_timeout)

    def webhook_route(self):  # type: ignore[no-untyped-def]
        assert self.settings.webhook_secret
        return webhook_handler(self.bot, self.inbound, self.settings.webhook_secret)

    async def typing(self, chat_id: int) -> None:
        await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def start(self, *, poll: bool = True) -> None:
        """`poll=False`: the caller starts `poller` itself (only the leader among instances may poll)."""
        try:
            await self.application.initialize()  # getMe: fails loudly on a bad token
        except BaseException:
            await self._close_transports()  # PTB leaves a half-initialised bot's connections open
            raise
        log.info("Telegram: running as @%s", self.bot.username)
        if self.settings.mode == "webhook":
            assert self.settings.webhook_url and self.settings.webhook_secret
            await self.bot.set_webhook(self.settings.webhook_url, secret_token=self.settings.webhook_secret,
                                       allowed_updates=ALLOWED_UPDATES)
        elif poll:
            self.poller.start()

    async def stop(self) -> None:
        await self.stop_intake()
        await self.close()

    async def stop_intake(self) -> None:
        """No more updates are taken; sending still works until close()."""
        if self.settings.mode == "polling":
            await self.poller.stop()  # a no-op if it never ran

    async def close(self) -> None:
        try:
            await self.application.shutdown()
        except TelegramError as exc:
            log.debug("Telegram shutdown: %s", exc)
        await self._close_transports()  # also when start() never ran (PTB's shutdown then does nothing)

    async def _close_transports(self) -> None:
        for transport in self._transports:
            await transport.shutdown()
