"""Customers' messages that arrive together are committed together; one that fails fails alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core.access import Access
from bot.core.events import CustomerInfo, CustomerMessage, Delivery
from bot.core.service import Service
from bot.core.settings import TextSettings
from storage.db import Database
from storage.models import Message
from tests.support.harness import ShiftedClock


def _message(user: int, text: str, *, chat: Any = ...) -> CustomerMessage:
    return CustomerMessage(Delivery("telegram", f"{user}:{text}"),
                           CustomerInfo(user, user if chat is ... else chat, "Carol"), 1, text, text)


def _commits(db: Database) -> list[int]:
    commits = [0]

    def count(*_args: Any) -> None:
        commits[0] += 1

    event.listen(db.engine.sync_engine, "commit", count)
    return commits


async def _stored(db: Database) -> list[str]:
    async with db.transaction() as session:
        return sorted(m.text for m in (await session.exec(select(Message))).all())


async def test_messages_of_several_customers_arriving_together_share_one_commit(
        db: Database, clock: ShiftedClock) -> None:
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    commits = _commits(db)
    outcomes = await asyncio.gather(*(service.handle(_message(100 + n, f"hello {n}")) for n in range(5)))
    assert all(o.changed and o.conversation_id for o in outcomes)
    assert len({o.conversation_id for o in outcomes}) == 5
    assert commits[0] == 1
    assert await _stored(db) == [f"hello {n}" for n in range(5)]
    # A re-delivery in a later group is recognised by its receipt, as it would be alone.
    again = await asyncio.gather(service.handle(_message(100, "hello 0")), service.handle(_message(105, "new")))
    assert again[0].duplicate and not again[1].duplicate
    assert await _stored(db) == ["hello 0", "hello 1", "hello 2", "hello 3", "hello 4", "new"]


async def test_a_message_that_cannot_be_stored_fails_alone(db: Database, clock: ShiftedClock) -> None:
    service = Service(db, texts=TextSettings(), access=Access([]), clock=clock)
    good = [service.handle(_message(200 + n, f"fine {n}")) for n in range(3)]
    bad = service.handle(_message(299, "no chat", chat=None))  # the customer row needs its chat
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert [type(r).__name__ for r in results[:3]] == ["Outcome"] * 3
    assert isinstance(results[3], IntegrityError)
    assert await _stored(db) == ["fine 0", "fine 1", "fine 2"]
    with pytest.raises(IntegrityError):  # and alone, the same answer
        await service.handle(_message(299, "no chat again", chat=None))
