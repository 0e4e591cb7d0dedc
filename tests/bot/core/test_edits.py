"""The edit handlers on a real database: what they store and which outbox rows they write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.config import TextSettings
from bot.core import effects as fx
from bot.core import notes
from bot.core import outbox_kinds as k
from bot.core.access import Access
from bot.core.edits import TELEGRAM_WINDOW, within_telegram_window
from bot.core.events import (
    Actor,
    ConversationRef,
    CustomerEdited,
    CustomerInfo,
    CustomerMessage,
    Delivery,
    OperatorDeleted,
    OperatorEdited,
    OperatorMessage,
    TakeoverRequested,
)
from bot.core.ports import Clock
from bot.core.service import Service
from storage import conversations
from storage.db import Database
from storage.models import Message, OutboxItem
from tests.support.harness import ShiftedClock

ALICE, BOB = Actor("U0ALICE", "Alice"), Actor("U0BOB", "Bob")
CAROL = CustomerInfo(tg_user_id=1001, tg_chat_id=1001, first_name="Carol")
CHANNEL, THREAD = "C0SUPPORT", "1700000000.000100"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def service(db: Database, clock: Clock) -> Service:
    svc = Service(db, texts=TextSettings(), access=Access([ALICE.slack_user_id, BOB.slack_user_id]), clock=clock)
    await svc.handle(CustomerMessage(Delivery("telegram", "1001:1"), CAROL, 1, "Helo", "Helo"))
    async with db.transaction() as session:
        await conversations.set_thread(session, 1, CHANNEL, THREAD)
    return svc


def customer_edit(text: str, at: datetime, message_id: int = 1) -> CustomerEdited:
    return CustomerEdited(Delivery("telegram", f"edit:1001:{message_id}:{at.timestamp()}:{text}"), 1001,
                          message_id, text, text, at)


async def reply(service: Service, actor: Actor, ts: str, text: str) -> None:
    await service.handle(OperatorMessage(Delivery("slack", f"message:{ts}"), actor, CHANNEL, THREAD, ts, text, text))


def operator_edit(actor: Actor, ts: str, text: str, version: str) -> OperatorEdited:
    return OperatorEdited(Delivery("slack", f"edit:{ts}:{version}"), actor, CHANNEL, THREAD, ts, text, text,
                          datetime.fromtimestamp(float(version), UTC))


async def rows(db: Database, *kinds: str) -> list[OutboxItem]:
    async with db.transaction() as session:
        found = (await session.exec(select(OutboxItem).order_by(col(OutboxItem.id)))).all()
    return [r for r in found if r.kind in kinds]


async def stored(db: Database, message_id: int) -> Message:
    async with db.transaction() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    return message


def test_the_telegram_window_is_48_hours_with_a_margin() -> None:
    assert within_telegram_window(T0, T0 + timedelta(hours=47))
    assert not within_telegram_window(T0, T0 + TELEGRAM_WINDOW - timedelta(minutes=1))
    assert not within_telegram_window(T0, T0 + timedelta(days=3))


async def test_a_late_older_customer_edit_does_not_overwrite_a_newer_one(service: Service, db: Database) -> None:
    assert (await service.handle(customer_edit("Hello!", T0 + timedelta(seconds=20)))).changed
    outcome = await service.handle(customer_edit("Hello", T0 + timedelta(seconds=10)))
    assert not outcome.changed and not outcome.duplicate
    assert (await stored(db, 1)).text == "Hello!"
    assert len(await rows(db, fx.EDIT_MIRROR)) == 1


async def test_customer_edits_of_unknown_or_unchanged_messages_do_nothing(service: Service, db: Database) -> None:
    assert not (await service.handle(customer_edit("hi", T0, message_id=99))).changed  # e.g. an edited /start
    assert not (await service.handle(customer_edit("Helo", T0))).changed  # only a field Baton does not show
    assert (await service.handle(customer_edit("Helo", T0))).duplicate
    assert await rows(db, fx.EDIT_MIRROR) == []


async def test_operator_edits_follow_the_reply_rules(service: Service, db: Database, clock: ShiftedClock) -> None:
    await reply(service, BOB, "1.1", "a note")  # agent mode: stays a note
    await service.handle(TakeoverRequested(ConversationRef(conversation_id=1), ALICE, "button"))
    await reply(service, ALICE, "1.2", "Five days")

    assert (await service.handle(operator_edit(BOB, "1.1", "a better note", "2.0"))).feedback == []
    edit = await service.handle(operator_edit(ALICE, "1.2", "Seven days", "2.1"))
    assert edit.changed and edit.feedback == []
    assert [(r.kind, r.message_id) for r in await rows(db, fx.EDIT, fx.CORRECTION)] == [(fx.EDIT, 3)]

    # Edits handled out of order: the older one is dropped.
    assert not (await service.handle(operator_edit(ALICE, "1.2", "Six days", "2.05"))).changed
    assert (await stored(db, 3)).text == "Seven days"

    clock.offset = TELEGRAM_WINDOW  # a delivered reply (it has a Telegram id) two days later
    async with db.transaction() as session:
        message = await session.get(Message, 3)
        assert message is not None
        message.tg_message_id = 42
        session.add(message)
    await service.handle(operator_edit(ALICE, "1.2", "Eight days", "3.0"))
    assert [r.kind for r in await rows(db, fx.EDIT, fx.CORRECTION)] == [fx.EDIT, fx.CORRECTION]

    deleted = await service.handle(OperatorDeleted(Delivery("slack", "delete:1.2"), ALICE, CHANNEL, THREAD, "1.2"))
    assert deleted.changed and (await stored(db, 3)).deleted_at is not None
    assert await rows(db, fx.DELETE) == []  # too old to delete: a note says so instead
    said = [notes.decode(k.parse(r, k.NOTE)) for r in await rows(db, fx.NOTE)]
    assert any(isinstance(n, notes.NotDeleted) and "48 hours" in n.why for n in said)


async def test_an_edit_that_overtakes_its_message_can_be_retried(service: Service, db: Database) -> None:
    await service.handle(TakeoverRequested(ConversationRef(conversation_id=1), ALICE, "button"))
    early = operator_edit(ALICE, "1.2", "Seven days", "2.0")
    assert (await service.handle(early)).unknown_thread  # the reply is not recorded yet: no receipt taken
    await reply(service, ALICE, "1.2", "Five days")
    assert (await service.handle(early)).changed
    assert (await service.handle(early)).duplicate
    assert [r.kind for r in await rows(db, fx.EDIT)] == [fx.EDIT]
