"""Direct statements (storage/direct.py): the same rows, values, transactions and errors as SQLAlchemy's own
execution, on SQLite and PostgreSQL (each run on its driver); and messages.add on top of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, event, exc
from sqlmodel import col, select

from storage import direct, messages
from storage.db import Database
from storage.direct import Direct
from storage.models import Customer, Message
from tests.support.rows import customer_with_conversation

T = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]

_BY_CONVERSATION = Direct(select(Message.id, Message.text, Message.created_at, Message.is_note)
                          .where(Message.conversation_id == bindparam("conversation_id"))
                          .order_by(col(Message.id)))
_SET_TEXT = Direct(_MESSAGES.update().where(_MESSAGES.c.id == bindparam("message_id"))
                   .values(text=bindparam("text"), edited_at=bindparam("at")))
_ADD_CUSTOMER = Direct(_CUSTOMERS.insert().returning(_CUSTOMERS.c.id),
                       column_keys=("tg_user_id", "tg_chat_id", "first_name", "unreachable", "blocked", "opted_out",
                                    "tags", "created_at"))

_FLAGS = {"unreachable": False, "blocked": False, "opted_out": False, "tags": ""}


async def _conversation(db: Database) -> int:
    async with db.transaction() as session:
        _, conv = await customer_with_conversation(session, tg_user_id=1)
        return conv.id or 0


async def test_values_read_and_written_directly_match_the_orms(db: Database) -> None:
    conv_id = await _conversation(db)
    async with db.transaction() as session:
        stored = Message(conversation_id=conv_id, author="customer", text="hello", created_at=T, is_note=True)
        session.add(stored)
        await session.flush()
        # Read directly what the ORM wrote: the aware datetime and the boolean come back as such.
        assert await _BY_CONVERSATION.rows(session, {"conversation_id": conv_id}) == [(stored.id, "hello", T, True)]
        changed = await _SET_TEXT.execute(session, {"message_id": stored.id, "text": "hi", "at": T + timedelta(1)})
        assert changed == 1
    async with db.transaction() as session:  # and the ORM reads what was written directly
        again = await session.get(Message, stored.id)
        assert again is not None and (again.text, again.edited_at) == ("hi", T + timedelta(1))


async def test_pending_orm_changes_are_written_before_a_direct_statement(db: Database) -> None:
    conv_id = await _conversation(db)
    async with db.transaction() as session:
        session.add(Message(conversation_id=conv_id, author="customer", text="not flushed yet", created_at=T))
        rows = await _BY_CONVERSATION.rows(session, {"conversation_id": conv_id})
        assert [text for _, text, _, _ in rows] == ["not flushed yet"]


async def test_direct_statements_belong_to_the_sessions_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError, match="undo"):
        async with db.transaction() as session:
            for user in (5, 6):  # on PostgreSQL the first goes through SQLAlchemy, the second to the driver
                await _ADD_CUSTOMER.first(session, {"tg_user_id": user, "tg_chat_id": user, "first_name": "Bo",
                                                    "created_at": T, **_FLAGS})
            raise RuntimeError("undo")
    async with db.transaction() as session:
        assert (await session.exec(select(Customer).where(col(Customer.tg_user_id).in_([5, 6])))).all() == []


async def test_a_driver_error_is_raised_as_sqlalchemys(db: Database) -> None:
    conv_id = await _conversation(db)  # tg_user_id 1 exists
    with pytest.raises(exc.IntegrityError):
        async with db.transaction() as session:
            await _BY_CONVERSATION.rows(session, {"conversation_id": conv_id})  # begins the transaction
            await _ADD_CUSTOMER.first(session, {"tg_user_id": 1, "tg_chat_id": 1, "first_name": "Twin",
                                                "created_at": T, **_FLAGS})
    async with db.transaction() as session:  # the database is usable again, and the row never came
        assert len((await session.exec(select(Customer).where(Customer.first_name == "Twin"))).all()) == 0


async def test_a_missing_parameter_is_named(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(exc.StatementError, match="required for bind parameter 'text'"):
            await _SET_TEXT.execute(session, {"message_id": 1, "at": T})


def test_statements_whose_sql_depends_on_the_values_are_refused() -> None:
    with pytest.raises(ValueError, match="column_keys"):
        Direct(_MESSAGES.insert())
    with pytest.raises(ValueError, match="expanding"):
        Direct(select(Message.id).where(col(Message.author).in_(["agent", "customer"])))
    # Columns whose defaults SQLAlchemy would compute per execution must be given.
    with pytest.raises(ValueError, match="blocked"):
        Direct(_CUSTOMERS.insert(), column_keys=("tg_user_id", "tg_chat_id"))


async def test_statements_run_on_the_driver_are_reported_to_listeners(db: Database) -> None:
    conv_id = await _conversation(db)
    seen: list[str] = []
    by_engine: list[str] = []

    def engine_ran(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        by_engine.append(statement)

    direct.on_statement.append(seen.append)
    event.listen(db.engine.sync_engine, "before_cursor_execute", engine_ran)
    try:
        async with db.transaction() as session:
            for _ in range(3):
                await _BY_CONVERSATION.rows(session, {"conversation_id": conv_id})
    finally:
        direct.on_statement.remove(seen.append)
        event.remove(db.engine.sync_engine, "before_cursor_execute", engine_ran)
    ran_directly = sum(sql.startswith("SELECT message.id") for sql in seen)
    through_sqlalchemy = sum(sql.startswith("SELECT message.id") for sql in by_engine)
    # SQLite: all on the driver. PostgreSQL: the first begins the transaction, through SQLAlchemy.
    assert (ran_directly, through_sqlalchemy) == ((3, 0) if db.is_sqlite else (2, 1))


async def test_an_added_message_is_stored_once_and_later_changes_are_updates(db: Database) -> None:
    conv_id = await _conversation(db)
    async with db.transaction() as session:
        message = await messages.add(session, Message(conversation_id=conv_id, author="customer",
                                                      text="Où est ma commande?", created_at=T))
        assert message.id is not None and message.search_text  # folded for search, as the ORM hook would
        message.is_note = True  # changed in the same transaction: an UPDATE at the flush, not a second row
        with pytest.raises(ValueError, match="stored already"):
            await messages.add(session, message)
    async with db.transaction() as session:
        rows = (await session.exec(select(Message).where(Message.conversation_id == conv_id))).all()
        assert [(m.id, m.text, m.is_note, m.created_at) for m in rows] == [(message.id, "Où est ma commande?", True, T)]
