"""Search over stored messages and customers: Unicode case folding, accents ignored, word prefixes; both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import history
from storage.db import Database
from storage.models import Conversation, Customer, Message
from tests.support import databases
from tests.support.rows import customer_with_conversation

TEXTS = [
    "Привет! Где мой заказ?",
    "Ich möchte eine Rückerstattung für die Bestellung",
    "Café au lait, s'il vous plaît",
    "Order #4521 never ARRIVED",
    "the Straße is closed",
    "ordinary question about shipping_costs",
]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = databases.url_for(tmp_path)
    await databases.prepare(url)
    database = Database(url)
    async with database.transaction() as session:
        people = [Customer(tg_user_id=1, tg_chat_id=1, first_name="Мария", last_name="Иванова", username="masha"),
                  Customer(tg_user_id=2, tg_chat_id=2, first_name="José", last_name="Núñez")]
        session.add_all(people)
        await session.flush()
        conv = Conversation(customer_id=people[0].id or 0)
        session.add(conv)
        await session.flush()
        session.add_all(Message(conversation_id=conv.id or 0, author="customer", text=text) for text in TEXTS)
    yield database
    await database.dispose()


async def _search(db: Database, query: str) -> list[str]:
    async with db.transaction() as session:
        return [m.text for m, _, _ in await history.search_messages(session, query)]


async def _customers(db: Database, query: str) -> list[str]:
    async with db.transaction() as session:
        return [c.display_name for c in await history.find_customers(session, query)]


@pytest.mark.parametrize(("query", "found"), [
    ("привет", [0]), ("ПРИВЕТ", [0]), ("Заказ", [0]),          # Cyrillic, any case
    ("cafe", [2]), ("CAFÉ", [2]), ("plait", [2]),              # accents ignored either way
    ("ruckerstattung", [1]), ("RÜCKERSTATTUNG", [1]),
    ("strasse", [4]), ("STRASSE", [4]),                        # full case folding (ß → ss)
    ("order arrived", [3]), ("arrived order", [3]), ("4521", [3]),  # every word, any order
    ("ord", [5, 3]), ("прив", [0]), ("Rück", [1]),               # word prefixes, newest first
    ("ship", [5]), ("costs", [5]),                               # shipping_costs: two words
    ("rder", []), ("ивет", []),                                  # not the middle of a word
    ("order nowhere", []), ("", []), ("?!", []),
])
async def test_search_messages(db: Database, query: str, found: list[int]) -> None:
    assert await _search(db, query) == [TEXTS[i] for i in found]


async def test_edited_and_deleted_messages(db: Database) -> None:
    async with db.transaction() as session:
        first = await session.get(Message, 1)
        assert first is not None
        first.text = "Здравствуйте, где посылка?"
        last = await session.get(Message, len(TEXTS))
        assert last is not None
        last.deleted_at = datetime.now(UTC)
    assert await _search(db, "привет") == []
    assert await _search(db, "ПОСЫЛКА") == ["Здравствуйте, где посылка?"]
    assert await _search(db, "shipping") == []


async def test_find_customers_by_name_in_any_script(db: Database) -> None:
    assert await _customers(db, "мария") == ["Мария Иванова"]
    assert await _customers(db, "ИВАН") == ["Мария Иванова"]
    assert await _customers(db, "jose nunez") == ["José Núñez"]
    assert await _customers(db, "MASH") == ["Мария Иванова"]
    assert await _customers(db, "@masha") == ["Мария Иванова"]
    assert await _customers(db, "100%") == []


async def test_rows_stored_before_the_search_migration_are_found_after_it(tmp_path: Path) -> None:
    from sqlalchemy import text

    from storage.migrate import downgrade, upgrade

    url = databases.url_for(tmp_path, "old")
    await databases.prepare(url, migrated=False)
    database = Database(url)
    try:
        await upgrade(database.engine, "0004_pacing")
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO customer (tg_user_id, tg_chat_id, first_name, unreachable, blocked, "
                                    "created_at, opted_out, tags) VALUES (7, 7, 'Åsa', false, false, "
                                    "CURRENT_TIMESTAMP, false, '')"))
            await conn.execute(text("INSERT INTO conversation (customer_id, mode, mode_since, needs_human, opened_at) "
                                    "VALUES (1, 'agent', CURRENT_TIMESTAMP, false, CURRENT_TIMESTAMP)"))
            await conn.execute(text("INSERT INTO message (conversation_id, author, is_note, kind, text, html, "
                                    "created_at) VALUES (1, 'customer', false, 'text', 'Добрый ВЕЧЕР', '', "
                                    "CURRENT_TIMESTAMP)"))
        await upgrade(database.engine)
        assert await _search(database, "вечер") == ["Добрый ВЕЧЕР"]
        assert await _customers(database, "asa") == ["Åsa"]
        await downgrade(database.engine, "0004_pacing")
        await upgrade(database.engine)
        assert await _search(database, "добр") == ["Добрый ВЕЧЕР"]
    finally:
        await database.dispose()


async def test_a_common_word_and_longer_words_starting_with_it(tmp_path: Path) -> None:
    """Many whole-word matches, and newer messages where the word only starts a longer one (or sits inside one)."""
    url = databases.url_for(tmp_path, "many")
    await databases.prepare(url)
    database = Database(url)
    try:
        async with database.transaction() as session:
            _, conv = await customer_with_conversation(session, tg_user_id=9)
            texts = ["Shippingcosts are old"] + [f"shipping {i}" for i in range(30)] + [
                "reshipping, not a match", "(SHIPPINGCOSTS) went up", "shipping 30"]
            session.add_all(Message(conversation_id=conv.id or 0, author="customer", text=t) for t in texts)
        async with database.transaction() as session:
            found = [m.text for m, _, _ in await history.search_messages(session, "shipping", limit=5)]
            costs = [m.text for m, _, _ in await history.search_messages(session, "shippingc", limit=5)]
            two = [m.text for m, _, _ in await history.search_messages(session, "shipping 2", limit=3)]
        assert found == ["shipping 30", "(SHIPPINGCOSTS) went up", "shipping 29", "shipping 28", "shipping 27"]
        assert costs == ["(SHIPPINGCOSTS) went up", "Shippingcosts are old"]
        assert two == ["shipping 29", "shipping 28", "shipping 27"]
    finally:
        await database.dispose()
