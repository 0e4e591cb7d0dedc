"""Core → Slack: posts the thread card, mirrors, notes and reactions; classifies Slack errors once."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core.ports import Delivered, Failed, Result, RetryLater
from operator_bridge import blocks
from operator_bridge.formatting import html_to_mrkdwn
from operator_bridge.outbound_edits import update_mirror
from storage import conversations, customers, messages, outbox
from storage.db import Database
from storage.models import Conversation, Customer, OutboxItem

log = logging.getLogger(__name__)

_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}


class SlackDeliverer:
    destination = fx.SLACK

    def __init__(self, client: AsyncWebClient, db: Database, *, channel: str, agent_name: str,
                 agent_icon_emoji: str) -> None:
        self.client = client
        self.db = db
        self.channel = channel
        self.agent_name = agent_name
        self.agent_icon_emoji = agent_icon_emoji

    async def deliver(self, item: OutboxItem) -> Result:
        try:
            return await self._deliver(item)
        except SlackApiError as exc:
            return classify(exc)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            return RetryLater(f"network error talking to Slack: {type(exc).__name__}")

    async def _deliver(self, item: OutboxItem) -> Result:
        assert item.conversation_id is not None
        async with self.db.transaction() as session:
            conv = await conversations.get(session, item.conversation_id)
            customer = await customers.get(session, conv.customer_id) if conv else None
            message = await messages.get(session, item.message_id) if item.message_id else None
            previous = (await conversations.get(session, conv.previous_conversation_id)
                        if conv and conv.previous_conversation_id else None)
        if conv is None or customer is None:
            return Failed("conversation not found")
        if item.kind == fx.OPEN_THREAD:
            if conv.slack_thread_ts:
                return Delivered(skipped="thread already open")
            text, card = blocks.card(await self._card_view(conv, customer, previous))
            resp = await self.client.chat_postMessage(
                channel=self.channel, text=text, blocks=card, unfurl_links=False,
                metadata={"event_type": "baton_conversation",
                          "event_payload": {"conversation_id": conv.id, "outbox_id": item.id}})
            return Delivered(slack_channel=resp["channel"], slack_ts=resp["ts"])
        if not conv.slack_channel or not conv.slack_thread_ts:
            return RetryLater("the conversation's thread is not open yet")
        channel, thread_ts = conv.slack_channel, conv.slack_thread_ts
        if item.kind == fx.UPDATE_CARD:
            text, card = blocks.card(await self._card_view(conv, customer, previous))
            await self.client.chat_update(channel=channel, ts=thread_ts, text=text, blocks=card)
            return Delivered()
        if item.kind == fx.NOTE:
            text, note = blocks.note(str(outbox.payload_of(item).get("text", "")))
            resp = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=note)
            return Delivered(slack_channel=channel, slack_ts=resp["ts"])
        if item.kind == fx.REACT:
            payload = outbox.payload_of(item)
            try:
                await self.client.reactions_add(channel=channel, timestamp=payload["ts"], name=payload["name"])
            except SlackApiError as exc:
                if exc.response.get("error") != "already_reacted":
                    raise
            return Delivered()
        if item.kind == fx.EDIT_MIRROR:
            return await update_mirror(self.client, channel, message)
        if item.kind == fx.MIRROR and message is not None:
            resp = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                                      unfurl_media=False, **self._mirror_args(message, customer))
            return Delivered(slack_channel=channel, slack_ts=resp["ts"])
        return Failed(f"nothing to do for outbox kind {item.kind!r}")

    def _mirror_args(self, message: Any, customer: Customer) -> dict[str, Any]:
        text = html_to_mrkdwn(message.html) if message.html else blocks._esc(message.text)
        if message.author == "customer":
            return {"text": text or " ", "username": f"{customer.display_name} (customer)",
                    "icon_emoji": ":bust_in_silhouette:"}
        return {"text": text or " ", "username": self.agent_name, "icon_emoji": self.agent_icon_emoji}

    async def _card_view(self, conv: Conversation, customer: Customer, previous: Conversation | None
                         ) -> blocks.CardView:
        link = None
        if previous is not None and previous.slack_channel and previous.slack_thread_ts:
            try:
                resp = await self.client.chat_getPermalink(channel=previous.slack_channel,
                                                           message_ts=previous.slack_thread_ts)
                link = resp.get("permalink")
            except SlackApiError as exc:
                log.info("no permalink for conversation %s: %s", previous.id, exc.response.get("error"))
        assert conv.id is not None
        return blocks.CardView(
            conversation_id=conv.id, mode=conv.mode, customer_name=customer.display_name,
            tg_user_id=customer.tg_user_id, username=customer.username, language=customer.language,
            owner_name=conv.owner_name, mode_since=conv.mode_since, needs_human=conv.needs_human,
            needs_human_reason=conv.needs_human_reason, previous_link=link,
            previous_id=previous.id if previous else None)


def classify(exc: SlackApiError) -> Result:
    status = exc.response.status_code
    error = str(exc.response.get("error", "unknown_error"))
    if status == 429 or error == "ratelimited":
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        try:
            after = float(retry_after) if retry_after is not None else 1.0
        except (TypeError, ValueError):
            after = 1.0
        return RetryLater("Slack rate limit", after=after)
    if status >= 500 or error in _TRANSIENT:
        return RetryLater(f"Slack error {status} {error}")
    if error in ("invalid_auth", "account_inactive", "token_revoked", "not_authed"):
        log.critical("Slack rejected the bot token (%s); fix [slack] bot_token", error)
        return RetryLater(f"Slack rejected the token ({error})", after=60)
    return Failed(f"Slack refused: {error}")
