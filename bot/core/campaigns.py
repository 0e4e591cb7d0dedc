"""Campaigns in the core: creating, cancelling, tagging, and tagging replies with their campaign.

Each operation is one transaction that also writes the outbox rows for the campaign's Slack message, like
`Service.handle`. Sending is bot/core/broadcast.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.events import Actor
from bot.core.outbox_kinds import CAMPAIGN_POST, CAMPAIGN_UPDATE, CampaignRef, enqueue
from bot.core.ports import Clock
from bot.core.text import quote
from storage import audit, customers, inbox
from storage import campaigns as store
from storage.db import Database
from storage.ids import as_id, looks_numeric
from storage.models import Campaign, Conversation, Customer

log = logging.getLogger(__name__)

# Outbox kinds for the campaign's message in Slack (rendered from the stored campaign when delivered).
KINDS = (CAMPAIGN_POST, CAMPAIGN_UPDATE)
ALREADY_CREATED = "This form already created its campaign: `/baton campaign list` shows it."


def campaign_lane(campaign_id: int | None) -> str:
    return f"campaign:{campaign_id}"


def queue_update(session: AsyncSession, campaign: Campaign, now: datetime) -> None:
    campaign.progress_queued_at = now
    session.add(campaign)
    assert campaign.id is not None
    enqueue(session, CAMPAIGN_UPDATE, CampaignRef(campaign.id), lane=campaign_lane(campaign.id), now=now)


@dataclass(frozen=True)
class Draft:
    """A campaign as an admin described it, already validated by the Slack side."""

    text: str
    html: str
    audience: str
    audience_value: str = ""
    image_url: str | None = None
    button_label: str | None = None
    button_url: str | None = None
    send_at: datetime | None = None  # None: now


class CampaignOps:
    def __init__(self, db: Database, *, clock: Clock, wake: Callable[[], None]) -> None:
        self.db = db
        self.clock = clock
        self.wake = wake  # the dispatchers and the sender

    async def create(self, draft: Draft, actor: Actor, *, form_id: str | None = None) -> Campaign | str:
        """The new campaign, or why not (phrased for the admin). `form_id` (the Slack view's id) makes creation
        idempotent: a form submitted again, pressed twice or replayed, creates nothing more."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            if draft.audience != "ids":
                # Counted now so an empty audience is said at once; recipients are fixed when sending starts.
                found = await store.audience_ids(session, draft.audience, draft.audience_value, now)
                if not found:
                    return "No customers match this audience."
            # Claimed only once the campaign is made, so a form refused above may be fixed and sent again.
            if form_id is not None and not await inbox.claim(session, "slack", f"campaign-form:{form_id}"):
                return ALREADY_CREATED
            campaign = Campaign(text=draft.text, html=draft.html, image_url=draft.image_url,
                                button_label=draft.button_label, button_url=draft.button_url,
                                audience=draft.audience, audience_value=draft.audience_value,
                                send_at=draft.send_at or now, created_by=actor.slack_user_id,
                                created_by_name=actor.name, created_at=now)
            session.add(campaign)
            await session.flush()
            assert campaign.id is not None
            enqueue(session, CAMPAIGN_POST, CampaignRef(campaign.id), lane=campaign_lane(campaign.id), now=now)
            audit.record(session, action="campaign_created", source="modal", conversation_id=None,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name,
                         detail=f"campaign {campaign.id}")
        self.wake()
        return campaign

    async def cancel(self, campaign_id: int, actor: Actor, source: str) -> str:
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None:
                return f"There is no campaign #{campaign_id}."
            if campaign.status not in store.ACTIVE:
                return f"Campaign #{campaign_id} is already {campaign.status}."
            # Pending recipients stay pending: the sender checks the status before every send.
            campaign.status, campaign.finished_at, campaign.cancelled_by_name = "cancelled", now, actor.name
            queue_update(session, campaign, now)
            audit.record(session, action="campaign_cancelled", source=source, conversation_id=None,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name,
                         detail=f"campaign {campaign_id}")
        self.wake()
        return f"Campaign #{campaign_id} is cancelled."

    async def tag(self, ref: str, tags: list[str], actor: Actor, *, remove: bool = False,
                  request_id: str | None = None) -> str:
        """`request_id`: the Slack command's own id, so that a replay of it changes nothing."""
        async with self.db.transaction() as session:
            if request_id is not None and not await inbox.claim(session, "slack", request_id):
                return "This command was already handled."
            customer = await _customer_by_ref(session, ref)
            if customer is None:
                return f"No customer matches `{quote(ref)}`: use their @username or Telegram id."
            current = store.tags_of(customer)
            wanted = [store.normalise_tag(t) for t in tags]
            store.set_tags(customer, [t for t in current if t not in wanted] if remove else current + wanted)
            session.add(customer)
            audit.record(session, action="untag" if remove else "tag", source="command", conversation_id=None,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name,
                         detail=f"customer {customer.tg_user_id}: {','.join(wanted)}")
            shown = ", ".join(store.tags_of(customer)) or "none"
            return f"{quote(customer.display_name)}'s tags: {quote(shown)}."


async def _customer_by_ref(session: AsyncSession, ref: str) -> Customer | None:
    raw = ref.strip()
    if (tg_user_id := as_id(raw)) is not None:
        return await customers.get_by_tg_user_id(session, tg_user_id)
    if looks_numeric(raw.lstrip("-")):
        return None  # not an id any customer can have
    return await customers.get_by_username(session, raw)


async def attribute_reply(session: AsyncSession, conv: Conversation, customer: Customer, *, now: datetime,
                          window_days: float) -> bool:
    """Tag the conversation with the campaign this customer message answers, if any; True if it was tagged.
    Only the first message after receiving a campaign counts, and only within the reply window."""
    if not window_days or conv.campaign_id is not None or customer.id is None:
        return False
    receipt = await store.unanswered_receipt(session, customer.id, now - timedelta(days=window_days))
    if receipt is None:
        return False
    conv.campaign_id = receipt.campaign_id
    receipt.conversation_id = conv.id
    session.add_all([conv, receipt])
    campaign = await store.get(session, receipt.campaign_id)
    if campaign is not None:
        queue_update(session, campaign, now)  # the campaign's message lists its replies
    return True
