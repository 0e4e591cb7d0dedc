"""Core → Slack for campaigns: posts the campaign's message, then keeps it up to date (progress, replies)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import campaigns as core
from bot.core.campaign_queries import campaign_facts, campaign_to_deliver
from bot.core.handles import Database, payload_of
from bot.core.pacing import Pacer
from bot.core.ports import Delivered, Failed, Result, RetryLater
from operator_bridge import campaign_blocks as cb
from operator_bridge.campaigns import describe_audience
from operator_bridge.uncertain import maybe_posted
from storage.models import Campaign, OutboxItem

FindPosted = Callable[[OutboxItem, str], Awaitable[str | None]]
REPLIES_SHOWN = 10


class CampaignMessages:
    def __init__(self, client: AsyncWebClient, db: Database, *, channel: str, post_pacer: Pacer,
                 tier3_pacer: Pacer, find_posted: FindPosted, metadata: Callable[[OutboxItem], dict[str, Any]]) -> None:
        self.client = client
        self.db = db
        self.channel = channel  # [slack] alerts_channel, else the (first) conversation channel
        self.post_pacer = post_pacer
        self.tier3_pacer = tier3_pacer
        self.find_posted = find_posted
        self.metadata = metadata

    async def deliver(self, item: OutboxItem) -> Result:
        campaign_id = int(payload_of(item).get("campaign_id", 0))
        campaign, superseded = await campaign_to_deliver(self.db, item, campaign_id)
        if superseded:
            # A later update is queued behind this one and will show fresher numbers: one call, not two.
            return Delivered(skipped="superseded by a later update")
        if campaign is None:
            return Failed("campaign not found")
        view = await self._view(campaign)
        if any(row.link is None for row in view.replies) and item.attempts < 5:
            # A reply's thread is being opened right now: list it with its link a moment later.
            return RetryLater("a reply's thread is not open yet", after=0.5)
        text, body = cb.campaign_message(view)
        if item.kind == core.CAMPAIGN_POST:
            if campaign.slack_ts:
                return Delivered(skipped="already posted")
            found = (await self.find_posted(item, self.channel)
                     if maybe_posted(item) else None)
            if found is None:
                await self.post_pacer.wait(self.channel)
                resp = await self.client.chat_postMessage(channel=self.channel, text=text, blocks=body,
                                                          unfurl_links=False, metadata=self.metadata(item))
                found = str(resp["ts"])
            # Recorded on the campaign with this outcome (bot/core/campaigns.py record_post).
            return Delivered(slack_channel=self.channel, slack_ts=found)
        if not campaign.slack_channel or not campaign.slack_ts:
            return Delivered(skipped="the campaign's message was never posted")
        await self.tier3_pacer.wait("chat.update")
        await self.client.chat_update(channel=campaign.slack_channel, ts=campaign.slack_ts, text=text, blocks=body)
        return Delivered()

    async def _view(self, campaign: Campaign) -> cb.CampaignView:
        assert campaign.id is not None
        facts = await campaign_facts(self.db, campaign, replies_limit=REPLIES_SHOWN)
        counts, reply_count, convs, names = facts.counts, facts.reply_count, facts.replies, facts.customers
        reasons, failure = facts.failure_reasons, facts.failure
        rows = []
        for conv in convs:
            assert conv.id is not None
            link = None
            if conv.slack_channel and conv.slack_thread_ts:
                with contextlib.suppress(SlackApiError):
                    link = (await self.client.chat_getPermalink(channel=conv.slack_channel,
                                                                message_ts=conv.slack_thread_ts)).get("permalink")
            who = names.get(conv.id)
            rows.append(cb.ReplyRow(conv.id, who.display_name if who else "?", conv.mode, link))
        return cb.CampaignView(
            campaign_id=campaign.id, status=campaign.status, text=campaign.text,
            audience=describe_audience(campaign.audience, campaign.audience_value),
            created_by_name=campaign.created_by_name, send_at=campaign.send_at, counts=counts,
            finished_at=campaign.finished_at, cancelled_by_name=campaign.cancelled_by_name,
            image_url=campaign.image_url, button_label=campaign.button_label, replies=rows, reply_count=reply_count,
            failure=failure, failure_reasons=reasons)
