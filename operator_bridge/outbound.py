"""Core → Slack: posts the thread card, mirrors, notes and reactions; classifies Slack errors once.

One handler per outbox kind (`self.routes`); each takes the row, its typed payload and what the claim
loaded (bot/core/claim.py), and reads nothing more from the database but the mirrors it folds."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core import outbox_kinds as k
from bot.core.handles import Database
from bot.core.media import FetchFile, no_fetch
from bot.core.outbox_routes import Route, Routes
from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Failed, Loaded, Result, RetryLater
from operator_bridge import blocks, coalesce
from operator_bridge.campaign_outbound import CampaignMessages
from operator_bridge.channel_watch import CHANNEL_ERRORS, ChannelWatch, channel_of, error_of
from operator_bridge.files import CustomerFileMirror
from operator_bridge.formatting import html_to_mrkdwn
from operator_bridge.notes_out import note_text
from operator_bridge.outbound_edits import update_mirror
from operator_bridge.uncertain import UNCERTAIN, maybe_posted
from storage.models import Conversation, Customer, Message, OutboxItem

log = logging.getLogger(__name__)

_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}


class SlackDeliverer:
    destination = fx.SLACK

    def __init__(self, client: AsyncWebClient, db: Database, *, channels: list[str], agent_name: str,
                 agent_icon_emoji: str, post_pacer: Pacer | None = None, tier3_pacer: Pacer | None = None,
                 alerts_channel: str | None = None, fetch_customer_file: FetchFile = no_fetch,
                 watch: ChannelWatch | None = None) -> None:
        self.client = client
        self.watch = watch or ChannelWatch(client, admins=list)
        self.files = CustomerFileMirror(client, fetch_customer_file, classify)
        self.db = db
        self.channels = channels
        self.alerts_channel = alerts_channel
        # chat.postMessage is limited per channel; chat.update and reactions.add per workspace (Tier 3).
        self.post_pacer = post_pacer if post_pacer is not None else Pacer(1.0, 3)
        self.tier3_pacer = tier3_pacer if tier3_pacer is not None else Pacer(50 / 60, 20)
        self.agent_name = agent_name
        self.agent_icon_emoji = agent_icon_emoji
        self.campaigns = CampaignMessages(client, channel=alerts_channel or channels[0],
                                          post_pacer=self.post_pacer, tier3_pacer=self.tier3_pacer,
                                          find_posted=self._find_posted, metadata=_metadata)

        self.routes = Routes(
            fx.SLACK,
            Route(k.OPEN_THREAD, self._open_thread), Route(k.UPDATE_CARD, self._update_card),
            Route(k.MIRROR, self._mirror), Route(k.NOTE, self._note), Route(k.REACT, self._react),
            Route(k.EDIT_MIRROR, self._edit_mirror), Route(k.ALERT, self._alert), Route(k.UPDATE_ALERT, self._alert),
            Route(k.CAMPAIGN_POST, self.campaigns.deliver), Route(k.CAMPAIGN_UPDATE, self.campaigns.deliver))

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        try:
            result = await self.routes.deliver(item, loaded)
        except SlackApiError as exc:
            error, channel = error_of(exc), channel_of(exc)
            if error in CHANNEL_ERRORS and channel is not None:
                # Not this message's fault, and not fixed by waiting: keep it, turn health red, tell admins.
                await self.watch.refused(channel, error)
                return RetryLater(f"Slack channel {channel}: {error}")
            return classify(exc)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            return RetryLater(f"{UNCERTAIN}network error talking to Slack: {type(exc).__name__}")
        if isinstance(result, Delivered) and self.watch.troubles:
            self.watch.delivered(result.slack_channel)
        return result

    # --- one handler per outbox kind ------------------------------------------------------------------

    async def _open_thread(self, item: OutboxItem, payload: k.Bare, loaded: Loaded) -> Result:
        conv, customer = loaded.conversation, loaded.customer
        if conv is None or customer is None:
            return Failed("conversation not found")
        if conv.slack_thread_ts:
            return Delivered(skipped="thread already open")
        # Several channels share the load of Slack's per-channel posting limit.
        target = self.channels[(conv.id or 0) % len(self.channels)]
        if maybe_posted(item) and (found := await self._find_posted(item, target)):
            return Delivered(slack_channel=target, slack_ts=found)
        text, card = blocks.card(await self._card_view(conv, customer, loaded.previous))
        await self.post_pacer.wait(target)
        resp = await self.client.chat_postMessage(channel=target, text=text, blocks=card,
                                                  unfurl_links=False, metadata=_metadata(item))
        return Delivered(slack_channel=resp["channel"], slack_ts=resp["ts"])

    async def _update_card(self, item: OutboxItem, payload: k.Bare, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        text, card = blocks.card(await self._card_view(thread.conv, thread.customer, loaded.previous))
        await self.tier3_pacer.wait("chat.update")
        await self.client.chat_update(channel=thread.channel, ts=thread.ts, text=text, blocks=card)
        return Delivered()

    async def _note(self, item: OutboxItem, payload: k.Note, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        try:
            words = note_text(payload)
        except ValueError as exc:  # a note a newer release wrote: failed (logged), never posted half-worded
            log.error("outbox %s (slack/note): %s", item.id, exc)
            return Failed(f"outbox {item.id} (slack/note): {exc}")
        if found := await self._posted_before(item, thread):
            return found
        text, note = blocks.note(words)
        await self.post_pacer.wait(thread.channel)
        resp = await self.client.chat_postMessage(channel=thread.channel, thread_ts=thread.ts, text=text, blocks=note,
                                                  metadata=_metadata(item))
        return Delivered(slack_channel=thread.channel, slack_ts=resp["ts"])

    async def _react(self, item: OutboxItem, payload: k.Reaction, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        await self.tier3_pacer.wait("reactions.add")
        try:
            await self.client.reactions_add(channel=thread.channel, timestamp=payload.ts, name=payload.name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise
        return Delivered()

    async def _edit_mirror(self, item: OutboxItem, payload: k.Bare, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        return await update_mirror(self.client, thread.channel, loaded.message, thread.ts)

    async def _mirror(self, item: OutboxItem, payload: k.Bare, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        if found := await self._posted_before(item, thread):
            return found
        message, customer, channel, thread_ts = loaded.message, thread.customer, thread.channel, thread.ts
        if message is None:
            return Failed(f"nothing to do for outbox kind {item.kind!r}")
        if message.tg_file_id:
            await self.post_pacer.wait(channel)
            return await self.files.mirror(channel, thread_ts, message, self._mirror_args(message, customer))
        if await self.post_pacer.wait(channel):
            # The channel was at its limit: fold this thread's waiting mirror messages into one post so the
            # thread's lag stays bounded instead of growing by a second per message. Gathered once the
            # slot is ours, so that what queued during the wait goes out in this post too.
            batch = await coalesce.waiting_mirrors(self.db, item)
            text, body, count = coalesce.combined_post(
                [(message, item), *batch], self._author, lambda m: self._mirror_args(m, customer)["text"],
                customer)
            if count > 1:  # else nothing to fold: this message goes alone, below, in the slot it has
                covered = tuple(row.id for _, row in batch[:count - 1] if row.id is not None)
                resp = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                          blocks=body, metadata=_metadata(item, covered),
                                                          unfurl_links=False, unfurl_media=False)
                return Delivered(slack_channel=channel, slack_ts=resp["ts"], covered=covered)
        resp = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                                  unfurl_media=False, metadata=_metadata(item),
                                                  **self._mirror_args(message, customer))
        return Delivered(slack_channel=channel, slack_ts=resp["ts"])

    async def _alert(self, item: OutboxItem, payload: k.AlertRef, loaded: Loaded) -> Result:
        thread = _thread_of(loaded)
        if not isinstance(thread, _Thread):
            return thread
        conv, customer, alert = thread.conv, thread.customer, loaded.alert
        if alert is None:
            return Failed("alert not found")
        if not self.alerts_channel:
            return Delivered(skipped="no alerts_channel configured")
        link = None
        if conv.slack_channel and conv.slack_thread_ts:
            with contextlib.suppress(SlackApiError):
                link = (await self.client.chat_getPermalink(channel=conv.slack_channel,
                                                            message_ts=conv.slack_thread_ts)).get("permalink")
        names = {"customer": customer.display_name, "agent": self.agent_name}
        view = blocks.AlertView(
            conversation_id=alert.conversation_id, customer_name=customer.display_name, username=customer.username,
            reason=alert.reason, raised_at=alert.created_at, thread_link=link, outcome=alert.outcome,
            closed_at=alert.closed_at,
            last_messages=[(m.author_name or names.get(m.author, m.author), m.text) for m in loaded.recent
                           if not m.is_note])
        text, body = blocks.alert(view)
        if item.kind == k.ALERT:
            if maybe_posted(item) and (found := await self._find_posted(item, self.alerts_channel)):
                return Delivered(slack_channel=self.alerts_channel, slack_ts=found)
            await self.post_pacer.wait(self.alerts_channel)
            resp = await self.client.chat_postMessage(channel=self.alerts_channel, text=text, blocks=body,
                                                      unfurl_links=False, metadata=_metadata(item))
            return Delivered(slack_channel=resp["channel"], slack_ts=resp["ts"])
        if not alert.slack_ts or not alert.slack_channel:
            return Delivered(skipped="the alert was never posted")
        await self.tier3_pacer.wait("chat.update")
        await self.client.chat_update(channel=alert.slack_channel, ts=alert.slack_ts, text=text, blocks=body)
        return Delivered()

    async def _posted_before(self, item: OutboxItem, thread: _Thread) -> Delivered | None:
        """This row's post, when an attempt that ended without an answer did reach the thread."""
        if not maybe_posted(item):
            return None
        posted = await self._find_posted_message(item, thread.channel, thread.ts)
        if posted is None:
            return None
        # A folded post names the rows it carried: they are done too.
        covered = (posted.get("metadata") or {}).get("event_payload", {}).get("covered") or []
        return Delivered(slack_channel=thread.channel, slack_ts=str(posted["ts"]), covered=tuple(map(int, covered)))

    async def _find_posted(self, item: OutboxItem, channel: str, thread_ts: str | None = None) -> str | None:
        """The ts of this row's post if an attempt that ended without an answer did reach Slack (by metadata)."""
        posted = await self._find_posted_message(item, channel, thread_ts)
        return str(posted["ts"]) if posted is not None else None

    async def _find_posted_message(self, item: OutboxItem, channel: str, thread_ts: str | None = None
                                   ) -> dict[str, Any] | None:
        if thread_ts is None:
            resp = await self.client.conversations_history(channel=channel, include_all_metadata=True, limit=100,
                                                           oldest=str(item.created_at.timestamp() - 60))
        else:
            resp = await self.client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True,
                                                           limit=1000)
        for message in resp.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("outbox_id") == item.id:
                log.info("outbox %s: already in Slack as %s (%s); not posting again", item.id, message["ts"],
                         item.last_error)
                return dict(message)
        return None

    def _author(self, message: Message, customer: Customer) -> tuple[str, str]:
        """(username, icon) a mirrored message is posted under."""
        if message.author == "customer":
            return f"{customer.display_name} (customer)", ":bust_in_silhouette:"
        return self.agent_name, self.agent_icon_emoji

    def _mirror_args(self, message: Message, customer: Customer) -> dict[str, Any]:
        text = html_to_mrkdwn(message.html) if message.html else blocks._esc(message.text)
        username, icon = self._author(message, customer)
        return {"text": text or " ", "username": username, "icon_emoji": icon}

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
            previous_id=previous.id if previous else None, csat_rating=conv.csat_rating,
            csat_comment=conv.csat_comment, campaign_id=conv.campaign_id)


@dataclass(frozen=True)
class _Thread:
    conv: Conversation
    customer: Customer
    channel: str
    ts: str


def _thread_of(loaded: Loaded) -> _Thread | Result:
    """The conversation's open thread, or why a row posting in it cannot go now."""
    conv, customer = loaded.conversation, loaded.customer
    if conv is None or customer is None:
        return Failed("conversation not found")
    if not conv.slack_channel or not conv.slack_thread_ts:
        return RetryLater("the conversation's thread is not open yet")
    return _Thread(conv, customer, conv.slack_channel, conv.slack_thread_ts)


def _metadata(item: OutboxItem, covered: tuple[int, ...] = ()) -> dict[str, Any]:
    # Lets a restarted Baton recognise its own post instead of posting it twice.
    payload: dict[str, Any] = {"outbox_id": item.id, "conversation_id": item.conversation_id}
    if covered:
        payload["covered"] = list(covered)
    return {"event_type": "baton_outbox", "event_payload": payload}


def classify(exc: SlackApiError) -> Result:
    status = exc.response.status_code
    error = error_of(exc)  # a 5xx page from a proxy has no JSON body
    if status == 429 or error == "ratelimited":
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        try:
            after = float(retry_after) if retry_after is not None else 1.0
        except (TypeError, ValueError):
            after = 1.0
        return RetryLater("Slack rate limit", after=after)
    if status >= 500 or error in _TRANSIENT:
        return RetryLater(f"{UNCERTAIN}Slack error {status} {error}")
    if error in ("invalid_auth", "account_inactive", "token_revoked", "not_authed"):
        log.critical("Slack rejected the bot token (%s); fix [slack] bot_token", error)
        return RetryLater(f"Slack rejected the token ({error})", after=60)
    return Failed(f"Slack refused: {error}")
