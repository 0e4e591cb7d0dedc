"""Timer firings as events on a real database: each acts once per deadline, and not at all once it has passed
out of date (the customer was answered, the owner replied)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.config import TextSettings
from bot.core import effects as fx
from bot.core import notes
from bot.core import outbox_kinds as k
from bot.core.access import Access
from bot.core.events import (
    Actor,
    ConversationRef,
    CustomerInfo,
    CustomerMessage,
    CustomerWaitDue,
    Delivery,
    OperatorMessage,
    OwnerSilenceDue,
    TakeoverRequested,
)
from bot.core.service import Service
from storage import conversations
from storage.db import Database
from storage.models import OutboxItem
from tests.support.harness import ShiftedClock

ALICE = Actor("U0ALICE", "Alice")
CAROL = CustomerInfo(tg_user_id=1001, tg_chat_id=1001, first_name="Carol")
CHANNEL, THREAD = "C0SUPPORT", "1700000000.000100"


@pytest.fixture
async def service(db: Database, clock: ShiftedClock) -> Service:
    """Carol's conversation #1, taken over by Alice."""
    svc = Service(db, texts=TextSettings(), access=Access([ALICE.slack_user_id]), clock=clock)
    await svc.handle(CustomerMessage(Delivery("telegram", "m1"), CAROL, 1, "Hello", "Hello"))
    async with db.transaction() as session:
        await conversations.set_thread(session, 1, CHANNEL, THREAD)
    await svc.handle(TakeoverRequested(ConversationRef(conversation_id=1), ALICE, "button"))
    return svc


async def _notes(db: Database) -> list[notes.ThreadNote]:
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxItem).where(OutboxItem.kind == fx.NOTE)
                                   .order_by(col(OutboxItem.id)))).all()
    return [notes.decode(k.parse(r, k.NOTE)) for r in rows]


async def _alerts(db: Database) -> int:
    async with db.transaction() as session:
        return len((await session.exec(select(OutboxItem).where(OutboxItem.kind == fx.ALERT))).all())


async def test_a_silent_owner_is_warned_once_per_silence(db: Database, service: Service, clock: ShiftedClock) -> None:
    early = await service.handle(OwnerSilenceDue(1, idle_minutes=30, warning_minutes=5))
    assert not early.changed  # 0 minutes of silence: not due
    clock.offset += timedelta(minutes=26)
    assert (await service.handle(OwnerSilenceDue(1, idle_minutes=30, warning_minutes=5))).changed
    assert not (await service.handle(OwnerSilenceDue(1, idle_minutes=30, warning_minutes=5))).changed
    assert [n for n in await _notes(db) if isinstance(n, notes.OwnerSilent)] == [
        notes.OwnerSilent(ALICE.slack_user_id, silent_minutes=25, minutes_left=5)]
    async with db.transaction() as session:
        conv = await conversations.get(session, 1)
    assert conv is not None and conv.idle_warned_at is not None
    # A reply starts a new silence, warned about again once it is long enough.
    await service.handle(OperatorMessage(Delivery("slack", "r1"), ALICE, CHANNEL, THREAD, "1.1", "On it", "On it"))
    assert not (await service.handle(OwnerSilenceDue(1, idle_minutes=30, warning_minutes=5))).changed
    clock.offset += timedelta(minutes=26)
    assert (await service.handle(OwnerSilenceDue(1, idle_minutes=30, warning_minutes=5))).changed
    assert len([n for n in await _notes(db) if isinstance(n, notes.OwnerSilent)]) == 2


async def test_a_waiting_customer_raises_one_alert_per_wait(db: Database, service: Service,
                                                            clock: ShiftedClock) -> None:
    assert not (await service.handle(CustomerWaitDue(1, waiting_minutes=10))).changed
    clock.offset += timedelta(minutes=11)
    assert (await service.handle(CustomerWaitDue(1, waiting_minutes=10))).changed
    assert not (await service.handle(CustomerWaitDue(1, waiting_minutes=10))).changed  # a second sweep
    assert await _alerts(db) == 1
    assert [n for n in await _notes(db) if isinstance(n, notes.CustomerWaiting)] == [
        notes.CustomerWaiting(waited_minutes=11, owner="Alice")]
    # The customer writes again: a new wait, alerted again once it is long enough.
    await service.handle(CustomerMessage(Delivery("telegram", "m2"), CAROL, 2, "Still there?", "Still there?"))
    clock.offset += timedelta(minutes=11)
    assert (await service.handle(CustomerWaitDue(1, waiting_minutes=10))).changed
    assert await _alerts(db) == 2
