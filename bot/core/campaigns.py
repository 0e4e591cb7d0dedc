"""Campaigns in the core: creating, cancelling, tagging, the sender's progress, and tagging replies with their
campaign.

Each is an event handled through `Service.handle`: one transaction that also writes the outbox rows for the
campaign's Slack message. The sending loop is bot/core/broadcast.py; it reports each outcome as an event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core.events import (
    CampaignCancelRequested,
    CampaignCreateRequested,
    CampaignDraft,
    CampaignFailed,
    CampaignSendingDone,
    CampaignSendsDue,
    CampaignStartDue,
    CustomerTagsChangeRequested,
    Outcome,
)
from bot.core.outbox_kinds import CAMPAIGN_POST, CAMPAIGN_SEND, CAMPAIGN_UPDATE, CampaignRef, CampaignSendRef, enqueue
from bot.core.ports import Clock, Delivered, Result, RetryLater
from bot.core.text import quote
from bot.core.transactions import Transactions
from storage import audit, customers, inbox, outbox
from storage import campaigns as store
from storage.db import after_commit
from storage.ids import as_id, looks_numeric
from storage.models import Campaign, CampaignRecipient, Conversation, Customer, OutboxItem

log = logging.getLogger(__name__)

# Outbox kinds for the campaign's message in Slack (rendered from the stored campaign when delivered).
KINDS = (CAMPAIGN_POST, CAMPAIGN_UPDATE)
CANCELLED = "the campaign was cancelled"  # Delivered.skipped of a send that found its campaign cancelled
ALREADY_CREATED = "This form already created its campaign: `/baton campaign list` shows it."
FAILED = "campaign_failed"  # audit action; its detail is "campaign N: why", shown on the campaign's message


def campaign_lane(campaign_id: int | None) -> str:
    return f"campaign:{campaign_id}"


def queue_update(session: AsyncSession, campaign: Campaign, now: datetime) -> None:
    campaign.progress_queued_at = now
    session.add(campaign)
    assert campaign.id is not None
    enqueue(session, CAMPAIGN_UPDATE, CampaignRef(campaign.id), lane=campaign_lane(campaign.id), now=now)


Draft = CampaignDraft  # the name the Slack side uses


class CampaignHandlers:
    """The campaign events `Service.handle` routes here: an admin's create, cancel and tag, and the sender's
    progress (a campaign starts, each recipient's outcome, done, failed)."""

    def __init__(self, db: Transactions, *, clock: Clock, progress_seconds: float = 3.0,
                 wake_sender: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.clock = clock
        self.progress_seconds = progress_seconds
        self.wake_sender = wake_sender

    async def create(self, event: CampaignCreateRequested) -> Outcome:
        """The new campaign's id, or why not (phrased for the admin). The form's id makes creation idempotent:
        a form submitted again, pressed twice or replayed, creates nothing more."""
        draft, actor, now = event.draft, event.actor, self.clock.now()
        async with self.db.transaction() as session:
            if draft.audience != "ids":
                # Counted now so an empty audience is said at once; recipients are fixed when sending starts.
                found = await store.audience_ids(session, draft.audience, draft.audience_value, now)
                if not found:
                    return Outcome().tell("No customers match this audience.")
            # Claimed only once the campaign is made, so a form refused above may be fixed and sent again.
            if event.form_id is not None and not await inbox.claim(session, "slack", f"campaign-form:{event.form_id}"):
                return Outcome(duplicate=True).tell(ALREADY_CREATED)
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
        return Outcome(changed=True, campaign_id=campaign.id)

    async def cancel(self, event: CampaignCancelRequested) -> Outcome:
        campaign_id, actor, now = event.campaign_id, event.actor, self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, campaign_id)
            if campaign is None:
                return Outcome().tell(f"There is no campaign #{campaign_id}.")
            if campaign.status not in store.ACTIVE:
                return Outcome().tell(f"Campaign #{campaign_id} is already {campaign.status}.")
            # Pending recipients stay pending: the sender checks the status before every send.
            campaign.status, campaign.finished_at, campaign.cancelled_by_name = "cancelled", now, actor.name
            queue_update(session, campaign, now)
            audit.record(session, action="campaign_cancelled", source=event.source, conversation_id=None,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name,
                         detail=f"campaign {campaign_id}")
        return Outcome(changed=True, campaign_id=campaign_id).tell(f"Campaign #{campaign_id} is cancelled.")

    async def tag(self, event: CustomerTagsChangeRequested) -> Outcome:
        actor, remove = event.actor, event.remove
        async with self.db.transaction() as session:
            if event.delivery is not None and not await inbox.claim(session, "slack", event.delivery.delivery_id):
                return Outcome(duplicate=True).tell("This command was already handled.")
            customer = await _customer_by_ref(session, event.customer_ref)
            if customer is None:
                return Outcome().tell(f"No customer matches <code>{quote(event.customer_ref)}</code>: use their "
                                      "@username or Telegram id.")
            current = store.tags_of(customer)
            wanted = [store.normalise_tag(t) for t in event.tags]
            store.set_tags(customer, [t for t in current if t not in wanted] if remove else current + wanted)
            session.add(customer)
            audit.record(session, action="untag" if remove else "tag", source="command", conversation_id=None,
                         actor_slack_user_id=actor.slack_user_id, actor_name=actor.name,
                         detail=f"customer {customer.tg_user_id}: {','.join(wanted)}")
            shown = ", ".join(store.tags_of(customer)) or "none"
            return Outcome(changed=True).tell(f"{quote(customer.display_name)}'s tags: {quote(shown)}.")

    # --- the sender's progress ------------------------------------------------------------------

    async def start(self, event: CampaignStartDue) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, event.campaign_id)
            if campaign is None or campaign.status != "scheduled":
                return Outcome()  # cancelled meanwhile, or started by another sweep
            # Recipients are fixed as sending starts, in the same transaction as the status change.
            ids = await store.audience_ids(session, campaign.audience, campaign.audience_value, now)
            await store.add_recipients(session, event.campaign_id, ids)
            campaign.status, campaign.started_at = "sending", now
            queue_update(session, campaign, now)
            log.info("campaign %s: sending to %s customers", event.campaign_id, len(ids))
        return Outcome(changed=True, campaign_id=event.campaign_id)

    async def sends_due(self, event: CampaignSendsDue) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, event.campaign_id)
            if campaign is None or campaign.status != "sending":
                return Outcome()  # cancelled: what is pending stays pending
            queued = skipped = 0
            # Skipped recipients take no room: look further until the room is used or no one is left.
            while queued < event.room and (found := await store.next_pending(session, event.campaign_id,
                                                                             limit=event.room - queued)):
                for recipient, customer in found:
                    if customer.opted_out or customer.unreachable:
                        recipient.status, recipient.error = "skipped", ("opted out" if customer.opted_out
                                                                        else "blocked the bot")
                        skipped += 1
                    else:
                        recipient.status = "queued"
                        queued += 1
                        assert campaign.id is not None and recipient.id is not None
                        enqueue(session, CAMPAIGN_SEND, CampaignSendRef(campaign.id, recipient.id),
                                lane=fx.customer_lane(customer), now=now)
                    session.add(recipient)
                await session.flush()
            if not queued and not await store.unsent(session, event.campaign_id):
                campaign.status, campaign.finished_at = "done", now  # nobody left who could be sent to
            if queued or skipped:
                self._progress(session, campaign, now, force=campaign.status != "sending")
        return Outcome(changed=bool(queued or skipped), campaign_id=event.campaign_id)

    async def send_settled(self, session: AsyncSession, item: OutboxItem, result: Result, now: datetime) -> None:
        """A campaign message's delivery outcome onto its recipient (part of DeliverySettled)."""
        if isinstance(result, RetryLater):
            return  # the dispatcher tries again; the recipient stays queued
        payload = outbox.payload_of(item)
        row = await session.get(CampaignRecipient, int(payload.get("recipient_id", 0)))
        campaign = await store.get(session, int(payload.get("campaign_id", 0)))
        if row is None or campaign is None or row.status != "queued":
            return
        if isinstance(result, Delivered) and result.skipped == CANCELLED:
            row.status = "pending"  # as the recipients not queued yet: never sent
        elif isinstance(result, Delivered) and result.skipped:
            row.status, row.error = "skipped", result.skipped
        elif isinstance(result, Delivered):
            row.status, row.sent_at, row.tg_message_id = "sent", now, result.tg_message_id
        elif result.unreachable:
            row.status, row.error = "blocked", result.reason
            customer = await session.get(Customer, row.customer_id)
            if customer is not None:
                customer.unreachable = True
                session.add(customer)
        else:
            row.status, row.error = "failed", result.reason
        session.add(row)
        await session.flush()
        if campaign.status == "sending" and not await store.unsent(session, row.campaign_id):
            campaign.status, campaign.finished_at = "done", now
            log.info("campaign %s: done", campaign.id)
        # Cancelled or done: this last outcome still shows in the final numbers.
        self._progress(session, campaign, now, force=campaign.status != "sending")
        after_commit(session, self.wake_sender)  # room for the next message

    async def sending_done(self, event: CampaignSendingDone) -> Outcome:
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, event.campaign_id)
            if campaign is None or campaign.status != "sending" or await store.unsent(session, event.campaign_id):
                return Outcome()
            campaign.status, campaign.finished_at = "done", now
            queue_update(session, campaign, now)
            log.info("campaign %s: done", event.campaign_id)
        return Outcome(changed=True, campaign_id=event.campaign_id)

    async def failed(self, event: CampaignFailed) -> Outcome:
        """Stop a campaign for good and say why on its Slack message."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            campaign = await store.get(session, event.campaign_id)
            if campaign is None:
                return Outcome()
            campaign.status, campaign.finished_at = "failed", now
            audit.record(session, action=FAILED, source="sender", conversation_id=None, actor_slack_user_id=None,
                         actor_name=None, detail=f"campaign {event.campaign_id}: {event.reason}")
            queue_update(session, campaign, now)
        return Outcome(changed=True, campaign_id=event.campaign_id)

    def _progress(self, session: AsyncSession, campaign: Campaign, now: datetime, *, force: bool = False) -> None:
        """Queue a progress update of the Slack message, at most once per `progress_seconds`."""
        last = campaign.progress_queued_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        if force or last is None or (now - last).total_seconds() >= self.progress_seconds:
            queue_update(session, campaign, now)


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
