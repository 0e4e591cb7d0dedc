"""Campaigns as the Slack adapter shows them: the rows behind a campaign's message and the recent list, the
posted message's id, and the rules for what admins type as an audience (tags, Telegram ids)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import effects as fx
from bot.core.campaigns import CAMPAIGN_UPDATE, FAILED
from storage import audit, customers, outbox
from storage import campaigns as store
from storage.campaigns import first_bad_id, normalise_tag, parse_ids
from storage.db import Database
from storage.models import Campaign, Conversation, Customer, OutboxItem

__all__ = ["CampaignFacts", "campaign_facts", "campaign_to_deliver", "campaign_to_send", "first_bad_id",
           "normalise_tag", "parse_ids", "recent_campaigns"]


async def campaign_to_deliver(db: Database, item: OutboxItem, campaign_id: int) -> tuple[Campaign | None, bool]:
    """The campaign an outbox row is about, and whether a later update queued behind it supersedes it."""
    async with db.transaction() as session:
        campaign = await store.get(session, campaign_id)
        superseded = item.kind == CAMPAIGN_UPDATE and bool(await outbox.find_pending_after(
            session, fx.SLACK, item.lane, item.id or 0, limit=1))
    return campaign, superseded


async def campaign_to_send(db: Database, campaign_id: int) -> Campaign | None:
    """The campaign whose message a Telegram outbox row sends, as it is now (cancelled or not)."""
    async with db.transaction() as session:
        return await store.get(session, campaign_id)


@dataclass(frozen=True)
class CampaignFacts:
    counts: dict[str, int]
    reply_count: int
    replies: Sequence[Conversation]  # the latest, each with its customer in `customers`
    customers: dict[int | None, Customer | None]
    failure_reasons: list[tuple[str, int]]
    failure: str | None  # why the whole campaign failed


async def campaign_facts(db: Database, campaign: Campaign, *, replies_limit: int) -> CampaignFacts:
    assert campaign.id is not None
    async with db.transaction() as session:
        counts = await store.counts(session, campaign.id)
        reply_count = await store.count_replies(session, campaign.id)
        convs = await store.replies(session, campaign.id, limit=replies_limit)
        names = {c.id: (await customers.get(session, c.customer_id)) for c in convs}
        reasons = await store.failure_reasons(session, campaign.id) if counts.get("failed") else []
        failure = (await audit.latest_detail(session, FAILED, f"campaign {campaign.id}: ")
                   if campaign.status == "failed" else None)
    return CampaignFacts(counts, reply_count, convs, names, reasons, failure)


async def recent_campaigns(db: Database) -> list[tuple[Campaign, dict[str, int], int]]:
    """The latest campaigns, each with its recipients' counts by status and its number of replies."""
    async with db.transaction() as session:
        rows = []
        for c in await store.find_recent(session):
            assert c.id is not None
            rows.append((c, await store.counts(session, c.id), await store.count_replies(session, c.id)))
    return rows
