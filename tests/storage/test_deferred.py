"""Deferred writes (storage.db.defer): settled outbox rows, begun attempts and messages' platform ids are
written together, before the transaction commits or anything in it reads them back; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from storage import direct, messages, outbox
from storage.db import Database
from storage.models import Message
from tests.support.rows import customer_with_conversation


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every statement sent: through SQLAlchemy (a PostgreSQL transaction's first) or on the driver."""
    seen: list[str] = []

    def through_sqlalchemy(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    direct.on_statement.append(seen.append)
    event.listen(db.engine.sync_engine, "before_cursor_execute", through_sqlalchemy)
    yield seen
    direct.on_statement.remove(seen.append)
    event.remove(db.engine.sync_engine, "before_cursor_execute", through_sqlalchemy)


async def _rows(db: Database, lane: str, count: int) -> list[int]:
    async with db.transaction() as session:
        for n in range(count):
            outbox.enqueue(session, destination="slack", lane=lane, kind="note", payload={"text": f"n{n}"})
    async with db.transaction() as session:
        return [item.id or 0 for item in await outbox.find_by_status(session, "pending")]


async def test_a_settled_head_is_not_claimed_again_by_the_same_transaction(db: Database) -> None:
    first, second, third = await _rows(db, "conversation:1", 3)
    async with db.transaction() as session:
        outbox.finish(session, first, status="done")
        claimed = await outbox.claim_heads(session, "slack", ["conversation:1", "conversation:9"])
        assert list(claimed) == ["conversation:1"]  # a lane with nothing pending is not in the answer
        item, *_, more = claimed["conversation:1"]
        assert item.id == second and more
        outbox.mark_attempt(session, second)
    async with db.transaction() as session:
        assert [i.id for i in await outbox.find_by_status(session, "done")] == [first]
        [head, behind] = await outbox.find_by_status(session, "pending")
        assert (head.id, head.attempts, head.last_error) == (second, 1, outbox.IN_FLIGHT)
        assert (behind.id, behind.attempts, behind.last_error) == (third, 0, None)


async def test_writes_deferred_together_are_one_statement_each(db: Database, statements: list[str]) -> None:
    ids = await _rows(db, "conversation:1", 3) + await _rows(db, "conversation:2", 1)
    statements.clear()
    async with db.transaction() as session:
        for item_id in ids:
            outbox.finish(session, item_id, status="done")
        assert statements == []  # nothing written yet
    assert len([sql for sql in statements if sql.startswith("UPDATE outbox")]) == 1
    async with db.transaction() as session:
        assert await outbox.count_pending(session) == 0


async def test_a_platform_id_set_in_a_transaction_is_read_back_in_it_and_stored(db: Database) -> None:
    async with db.transaction() as session:
        _, conv = await customer_with_conversation(session, tg_user_id=7)
        message = await messages.add(session, Message(conversation_id=conv.id or 0, author="customer", text="hi"))
        message_id, conv_id = message.id or 0, conv.id or 0
    async with db.transaction() as session:
        messages.set_platform_ids(session, message_id, slack_ts="1700000000.000100", tg_message_id=42)
        found = await messages.get_by_slack_ts(session, conv_id, "1700000000.000100")
        assert found is not None and found.id == message_id
    async with db.transaction() as session:
        stored = await messages.get(session, message_id)
        assert stored is not None and (stored.slack_ts, stored.tg_message_id) == ("1700000000.000100", 42)


async def test_deferred_writes_of_a_transaction_that_fails_are_not_made(db: Database) -> None:
    [item_id] = await _rows(db, "conversation:1", 1)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            outbox.finish(session, item_id, status="done")
            raise RuntimeError("the handler failed")
    async with db.transaction() as session:
        assert [i.id for i in await outbox.find_by_status(session, "pending")] == [item_id]
