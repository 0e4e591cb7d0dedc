"""Admin and campaign changes as events through Service.handle, on a real database: what each stores, audits
and queues for Slack, and that a replayed or stale event changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.config import TextSettings
from bot.core import effects as fx
from bot.core.access import Access
from bot.core.campaigns import CAMPAIGN_POST, CAMPAIGN_SEND, CAMPAIGN_UPDATE, CANCELLED
from bot.core.events import (
    Actor,
    AdminCommandRun,
    CampaignCancelRequested,
    CampaignCreateRequested,
    CampaignDraft,
    CampaignFailed,
    CampaignSendingDone,
    CampaignSendsDue,
    CampaignStartDue,
    CustomerInfo,
    CustomerMessage,
    CustomerTagsChangeRequested,
    Delivery,
    DeliverySettled,
    Feedback,
    RoleChangeRequested,
    TranscriptExported,
)
from bot.core.ports import Delivered, Failed, RetryLater
from bot.core.service import Service
from storage import conversations, staff
from storage.db import Database
from storage.models import AuditEntry, Campaign, CampaignRecipient, Customer, OutboxItem
from tests.support.harness import ShiftedClock

ADMIN, ALICE, EVE = Actor("U0ADMIN", "Ada Admin"), Actor("U0ALICE", "Alice"), Actor("U0EVE", "Eve")
CAROL = CustomerInfo(tg_user_id=1001, tg_chat_id=1001, first_name="Carol", username="carol")
DAN = CustomerInfo(tg_user_id=1002, tg_chat_id=1002, first_name="Dan")


@pytest.fixture
async def service(db: Database) -> Service:
    woken: list[str] = []
    svc = Service(db, texts=TextSettings(), access=Access([ALICE.slack_user_id], [ADMIN.slack_user_id]),
                  clock=ShiftedClock(), wake_campaigns=lambda: woken.append("campaigns"))
    svc.woken = woken  # type: ignore[attr-defined]
    for n, customer in enumerate((CAROL, DAN), 1):
        await svc.handle(CustomerMessage(Delivery("telegram", f"m{n}"), customer, n, "Hello", "Hello"))
    return svc


async def _audit(db: Database) -> list[tuple[str, str | None, str | None]]:
    async with db.transaction() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    return [(r.action, r.actor_slack_user_id, r.detail) for r in rows]


async def _outbox(db: Database, *kinds: str) -> list[OutboxItem]:
    async with db.transaction() as session:
        return list((await session.exec(select(OutboxItem).where(col(OutboxItem.kind).in_(kinds))
                                        .order_by(col(OutboxItem.id)))).all())


async def test_a_role_change_is_stored_and_audited_once(db: Database, service: Service) -> None:
    add = RoleChangeRequested(ADMIN, EVE.slack_user_id, "operator", add=True, delivery=Delivery("slack", "cmd-1"))
    outcome = await service.handle(add)
    assert outcome.changed and outcome.feedback[0] == Feedback("is now a Baton operator.", person="U0EVE")
    async with db.transaction() as session:
        assert await staff.list_role(session, "operator") == [EVE.slack_user_id]
        first_generation = await staff.generation(session)
    # The same request again (a Slack retry) changes nothing, even after a removal.
    await service.handle(RoleChangeRequested(ADMIN, EVE.slack_user_id, "operator", add=False,
                                             delivery=Delivery("slack", "cmd-2")))
    replay = await service.handle(add)
    assert replay.duplicate and not replay.changed
    async with db.transaction() as session:
        assert await staff.list_role(session, "operator") == []
        assert await staff.generation(session) != first_generation
    assert [a for a in await _audit(db) if a[0].startswith("operator")] == [
        ("operator_added", ADMIN.slack_user_id, EVE.slack_user_id),
        ("operator_removed", ADMIN.slack_user_id, EVE.slack_user_id)]


async def test_role_changes_refused_change_nothing(db: Database, service: Service) -> None:
    refused = await service.handle(RoleChangeRequested(ALICE, EVE.slack_user_id, "admin", add=True,
                                                       delivery=Delivery("slack", "cmd-3")))
    assert not refused.changed and "Only Baton admins" in refused.feedback[0].text
    configured = await service.handle(RoleChangeRequested(ADMIN, ALICE.slack_user_id, "operator", add=False,
                                                          delivery=Delivery("slack", "cmd-4")))
    assert not configured.changed and "config file" in configured.feedback[0].text
    async with db.transaction() as session:
        assert await staff.list_role(session, "admin") == []
    assert not [a for a in await _audit(db) if a[0].startswith(("operator", "admin"))]


async def test_commands_and_exports_are_on_the_record(db: Database, service: Service) -> None:
    await service.handle(AdminCommandRun(ADMIN, "status", ""))
    await service.handle(TranscriptExported(ALICE.slack_user_id, 1))
    await service.handle(TranscriptExported(EVE.slack_user_id, 1))  # not an operator: nothing was exported
    await service.handle(TranscriptExported(ALICE.slack_user_id, 99))  # no such conversation
    assert [a for a in await _audit(db) if a[0] in ("baton status", "export")] == [
        ("baton status", ADMIN.slack_user_id, None), ("export", ALICE.slack_user_id, None)]


async def test_a_campaign_is_created_once_cancelled_once_and_its_slack_message_queued(db: Database,
                                                                                       service: Service) -> None:
    create = CampaignCreateRequested(ADMIN, CampaignDraft(text="Sale", html="Sale", audience="all"), form_id="V1")
    created = await service.handle(create)
    assert created.changed and created.campaign_id == 1
    again = await service.handle(create)
    assert again.duplicate and again.campaign_id is None and "already created" in again.feedback[0].text
    cancelled = await service.handle(CampaignCancelRequested(ADMIN, 1, "button"))
    assert cancelled.feedback[0].text == "Campaign #1 is cancelled."
    assert "already cancelled" in (await service.handle(CampaignCancelRequested(ADMIN, 1, "button"))).feedback[0].text
    assert service.woken == ["campaigns", "campaigns"]  # type: ignore[attr-defined]
    async with db.transaction() as session:
        campaign = await session.get(Campaign, 1)
        assert campaign is not None and campaign.status == "cancelled" and campaign.cancelled_by_name == "Ada Admin"
    assert [(r.kind, r.lane) for r in await _outbox(db, CAMPAIGN_POST, CAMPAIGN_UPDATE)] == [
        (CAMPAIGN_POST, "campaign:1"), (CAMPAIGN_UPDATE, "campaign:1")]
    assert [a for a in await _audit(db) if a[0].startswith("campaign")] == [
        ("campaign_created", ADMIN.slack_user_id, "campaign 1"), ("campaign_cancelled", ADMIN.slack_user_id,
                                                                  "campaign 1")]


async def test_tags_are_set_and_a_replayed_command_is_ignored(db: Database, service: Service) -> None:
    tag = CustomerTagsChangeRequested(ADMIN, "@carol", ("VIP", "beta"), delivery=Delivery("slack", "cmd-5"))
    assert (await service.handle(tag)).feedback[0].text == "Carol's tags: beta, vip."
    await service.handle(CustomerTagsChangeRequested(ADMIN, "1001", ("beta",), remove=True))
    assert (await service.handle(tag)).duplicate
    async with db.transaction() as session:
        carol = (await session.exec(select(Customer).where(Customer.tg_user_id == 1001))).one()
    assert carol.tags == ",vip,"


async def test_a_campaigns_messages_are_outbox_rows_in_the_customers_lanes_settled_onto_recipients(
        db: Database, service: Service) -> None:
    await service.handle(CampaignCreateRequested(ADMIN, CampaignDraft(text="Sale", html="Sale", audience="all")))
    assert (await service.handle(CampaignStartDue(1))).changed
    assert not (await service.handle(CampaignStartDue(1))).changed  # already sending: recipients fixed once
    assert not (await service.handle(CampaignSendingDone(1))).changed  # two are still to be sent
    await service.handle(CampaignSendsDue(1, room=1))
    await service.handle(CampaignSendsDue(1, room=5))
    sends = await _outbox(db, CAMPAIGN_SEND)
    # One row per recipient, once each, in that customer's lane: ordered with their other messages.
    assert [(r.destination, r.lane) for r in sends] == [(fx.TELEGRAM, "customer:1"), (fx.TELEGRAM, "customer:2")]
    now = service.clock.now()
    await service.handle(DeliverySettled(sends[0], RetryLater("flood control", after=1), now))
    await service.handle(DeliverySettled(sends[0], Delivered(tg_message_id=77), now))
    await service.handle(DeliverySettled(sends[1], Failed("blocked by the user", unreachable=True), now))
    await service.handle(DeliverySettled(sends[0], Failed("a late replay"), now))  # settled already: no change
    async with db.transaction() as session:
        sent, blocked = (await session.exec(select(CampaignRecipient).order_by(col(CampaignRecipient.id)))).all()
        dan = await session.get(Customer, 2)
        campaign = await session.get(Campaign, 1)
    assert (sent.status, sent.tg_message_id, sent.sent_at is not None) == ("sent", 77, True)
    assert (blocked.status, blocked.error) == ("blocked", "blocked by the user")
    assert dan is not None and dan.unreachable
    assert campaign is not None and campaign.status == "done"  # the last outcome finished it
    assert len(await _outbox(db, CAMPAIGN_UPDATE)) >= 2  # started, done (progress in between is throttled)


async def test_a_cancelled_campaigns_queued_messages_are_not_sent(db: Database, service: Service) -> None:
    await service.handle(CampaignCreateRequested(ADMIN, CampaignDraft(text="Sale", html="Sale", audience="all")))
    await service.handle(CampaignStartDue(1))
    await service.handle(CampaignSendsDue(1, room=1))
    await service.handle(CampaignCancelRequested(ADMIN, 1, "button"))
    assert not (await service.handle(CampaignSendsDue(1, room=1))).changed  # nothing more is queued
    (send,) = await _outbox(db, CAMPAIGN_SEND)
    await service.handle(DeliverySettled(send, Delivered(skipped=CANCELLED), service.clock.now()))
    async with db.transaction() as session:
        statuses = [r.status for r in (await session.exec(select(CampaignRecipient))).all()]
        campaign = await session.get(Campaign, 1)
    assert statuses == ["pending", "pending"] and campaign is not None and campaign.status == "cancelled"


async def test_a_failed_campaign_says_why_in_the_audit_trail(db: Database, service: Service) -> None:
    await service.handle(CampaignCreateRequested(ADMIN, CampaignDraft(text="Sale", html="Sale", audience="all")))
    await service.handle(CampaignFailed(1, "could not start (ValueError)"))
    async with db.transaction() as session:
        campaign = await session.get(Campaign, 1)
    assert campaign is not None and campaign.status == "failed"
    assert ("campaign_failed", None, "campaign 1: could not start (ValueError)") in await _audit(db)


async def test_a_delivery_outcome_is_recorded_in_the_callers_transaction(db: Database, service: Service) -> None:
    """The dispatcher records an outcome and claims the next row in one transaction: handle_in joins it, so
    the outcome is kept or lost with it."""
    (item,) = [r for r in await _outbox(db, fx.OPEN_THREAD) if r.conversation_id == 1]
    settled = DeliverySettled(item, Delivered(slack_channel="C0SUPPORT", slack_ts="1700000000.000100"),
                              service.clock.now())

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with db.transaction() as session:
            await service.handle_in(session, settled)
            raise Abandoned
    async with db.transaction() as session:
        conv = await conversations.get(session, 1)
        assert conv is not None and conv.slack_thread_ts is None
        assert (await session.get(OutboxItem, item.id)).status == "pending"  # type: ignore[union-attr]
    async with db.transaction() as session:
        await service.handle_in(session, settled)
    async with db.transaction() as session:
        conv = await conversations.get(session, 1)
        assert conv is not None and conv.slack_thread_ts == "1700000000.000100"
        assert (await session.get(OutboxItem, item.id)).status == "done"  # type: ignore[union-attr]


async def test_where_a_campaigns_message_was_posted_is_part_of_its_delivery_outcome(db: Database,
                                                                                    service: Service) -> None:
    await service.handle(CampaignCreateRequested(ADMIN, CampaignDraft(text="Sale", html="Sale", audience="all")))
    (post,) = await _outbox(db, CAMPAIGN_POST)
    await service.handle(DeliverySettled(post, Delivered(slack_channel="C0ALERTS", slack_ts="1.5"),
                                         service.clock.now()))
    async with db.transaction() as session:
        campaign = await session.get(Campaign, 1)
    assert campaign is not None and (campaign.slack_channel, campaign.slack_ts) == ("C0ALERTS", "1.5")
