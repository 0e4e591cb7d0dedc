"""What the claim of an agent's turn reads: the history, and whether a newer question makes the turn moot."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from bot.core import outbox_kinds as k
from bot.core.claim import AGENT_HISTORY_MESSAGES, loaded_for
from storage.db import Database
from storage.models import Message, OutboxItem
from tests.support.rows import customer_with_conversation

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
_USERS = itertools.count(7)


async def _turn(db: Database, after_question: list[tuple[str, str]], *,
                hidden: tuple[str, ...] = ()) -> tuple[bool, list[str]]:
    """A conversation whose customer asked "the question", then `after_question` (author, text) was
    written; the claim of the question's agent turn: (superseded, the history's texts)."""
    async with db.transaction() as session:
        user = next(_USERS)
        customer, conv = await customer_with_conversation(session, tg_user_id=user, first_name="Carol", mode="agent",
                                                          mode_since=NOW, opened_at=NOW)
        question = Message(conversation_id=conv.id or 0, author="customer", text="the question", created_at=NOW)
        session.add(question)
        for author, text in after_question:
            session.add(Message(conversation_id=conv.id or 0, author=author, text=text, created_at=NOW))
        for text in hidden:  # an internal note, then a deleted message: neither is the agent's to read
            note = text.startswith("note")
            session.add(Message(conversation_id=conv.id or 0, author="operator" if note else "customer", text=text,
                                is_note=note, deleted_at=None if note else NOW, created_at=NOW))
        await session.flush()
        item = OutboxItem(destination=k.AGENT, lane=f"conversation:{conv.id}", kind=str(k.ASK),
                          conversation_id=conv.id, message_id=question.id, payload="{}", next_attempt_at=NOW)
        loaded = await loaded_for(session, item, conv, customer, question)
    return loaded.superseded, [turn.text for turn in loaded.history]


async def test_the_turn_of_the_latest_question_reads_the_history(db: Database) -> None:
    superseded, history = await _turn(db, [("system", "a note")])
    assert not superseded
    assert history == ["the question", "a note"]


async def test_the_history_leaves_out_internal_notes_and_deleted_messages(db: Database) -> None:
    superseded, history = await _turn(db, [("agent", "an answer")], hidden=("note: VIP", "deleted question"))
    assert not superseded  # a deleted question asks nothing
    assert history == ["the question", "an answer"]


async def test_a_newer_question_in_the_history_makes_the_turn_moot(db: Database) -> None:
    superseded, _ = await _turn(db, [("agent", "an answer"), ("customer", "a newer question")])
    assert superseded


async def test_a_newer_question_older_than_the_history_shows_still_makes_the_turn_moot(db: Database) -> None:
    # The newer question is followed by more notes than the history holds: it is found all the same.
    notes = [("operator", f"note {i}") for i in range(AGENT_HISTORY_MESSAGES)]
    superseded, _ = await _turn(db, [("customer", "a newer question"), *notes])
    assert superseded
    # And without one, a long stretch of notes does not make the turn moot.
    superseded, history = await _turn(db, notes)
    assert not superseded and len(history) == AGENT_HISTORY_MESSAGES
