"""Edits and deletions both ways, through the real clients and the sandboxes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from storage import audit
from storage.models import AuditEntry, Message
from tests.support.harness import ALICE, BOB, CHANNEL, ShiftedClock, World

CAROL, DAN = 1001, 1002
TWO_DAYS_AND_A_BIT = 48 * 3600 + 600


async def test_customer_edit_updates_the_mirror_in_place_and_keeps_the_original(world: World) -> None:
    await world.start()
    sent = await world.tg.customer_sends(CAROL, "How long does shiping take?")
    root = await world.root()
    [mirror] = await world.thread_has(root["ts"], "How long does shiping take?")
    await world.tg.wait_for_messages(CAROL, 1)  # the agent answered the question as first written

    await world.tg.customer_edits(CAROL, sent["message_id"], "How long does shipping to Norway take?")
    [updated] = await world.thread_has(root["ts"], "How long does shipping to Norway take?")
    assert updated["ts"] == mirror["ts"]  # in place, not a new message
    assert updated["blocks"][-1]["elements"][0]["text"] == "_(edited)_"
    assert updated["username"] == "Carol Customer (customer)"

    await _settled(world)
    assert len(world.agent.requests) == 1  # type: ignore[attr-defined]
    [message] = await _messages(world, author="customer")
    assert message.text == "How long does shipping to Norway take?" and message.edited_at is not None
    [entry] = await _audit(world, "message_edited")
    assert json.loads(entry.detail or "{}")["text"] == "How long does shiping take?"
    assert entry.source == "telegram"


async def test_customer_edit_before_the_mirror_is_posted_posts_the_latest_text(world: World) -> None:
    await world.start()
    world.slack.hold("chat.postMessage")  # Slack is slow: the thread is not even open yet
    sent = await world.tg.customer_sends(CAROL, "Helo, shipping?")
    await world.slack.wait_for(lambda: any(e.get("held") for e in world.slack.call_log), what="the held post")
    await world.tg.customer_edits(CAROL, sent["message_id"], "Hello, how long does shipping take?")
    # Updates are handled in order: once Dan is answered, Carol's edit is committed.
    await world.tg.customer_sends(DAN, "shipping?")
    await world.tg.wait_for_messages(DAN, 1)
    world.slack.release("chat.postMessage")

    root = await world.root()
    await world.thread_has(root["ts"], "Hello, how long does shipping take?")
    await _settled(world)
    mirrors = [c["args"]["text"] for c in world.slack.call_log
               if c["method"] == "chat.postMessage" and "customer" in str(c["args"].get("username"))]
    assert "Helo, shipping?" not in mirrors and "Hello, how long does shipping take?" in mirrors


async def test_a_redelivered_customer_edit_is_applied_once(world: World) -> None:
    await world.start()
    sent = await world.tg.customer_sends(CAROL, "Is shipping free?")
    root = await world.root()
    await world.thread_has(root["ts"], "Is shipping free?")
    edited = await world.tg.customer_edits(CAROL, sent["message_id"], "Is shipping free to Norway?")
    await world.thread_has(root["ts"], "Is shipping free to Norway?")
    await world.tg.push_update({"edited_message": edited})  # the same edit in another update
    await world.tg.customer_sends(CAROL, "thanks")  # a barrier: handled after the duplicate
    await world.thread_has(root["ts"], "thanks")
    await _settled(world)
    assert len(await _audit(world, "message_edited")) == 1
    assert len([c for c in world.slack.call_log if c["method"] == "chat.update"
                and "Norway" in str(c["args"].get("text"))]) == 1


async def test_operator_edit_of_a_delivered_reply_edits_it_in_telegram(world: World) -> None:
    root = await _taken_over(world)
    posted, delivered = await _reply(world, root, "Norway takes 5 days.", count=3)

    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "Norway takes *7* days.")
    [edit] = await world.tg.wait_until(lambda: world.tg.edits, what="editMessageText")
    assert (edit.method, edit.message_id, edit.text) == ("editMessageText", delivered.message_id,
                                                         "Norway takes <b>7</b> days.")
    assert edit.parse_mode == "HTML" and edit.plain_text == "Norway takes 7 days."
    await _settled(world)
    assert len(world.tg.messages_to(CAROL)) == 3  # changed in place: nothing new was sent
    [reply] = await _messages(world, author="operator")
    assert reply.html == "Norway takes <b>7</b> days." and reply.edited_at is not None
    [entry] = await _audit(world, "message_edited")
    assert entry.actor_slack_user_id == ALICE and json.loads(entry.detail or "{}")["text"] == "Norway takes 5 days."


async def test_an_edit_telegram_refuses_after_48_hours_becomes_a_correction(world: World) -> None:
    root = await _taken_over(world)
    posted, _ = await _reply(world, root, "Norway takes 5 days.", count=3)
    world.tg.advance_clock(TWO_DAYS_AND_A_BIT)  # Telegram now sees the reply as two days old

    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "Norway takes 7 days.")
    correction = (await world.tg.wait_for_messages(CAROL, 4))[3]
    assert correction.text == "Correction: Norway takes 7 days."
    await world.thread_has(root["ts"], "sent the new text as a correction")
    assert world.tg.edits == []
    assert [c for c, _ in world.tg.calls if c == "editMessageText"] == ["editMessageText"]  # tried once


async def test_an_edit_past_the_window_by_batons_clock_is_a_correction_without_trying(world: World) -> None:
    world.clock = ShiftedClock()
    root = await _taken_over(world)
    posted, _ = await _reply(world, root, "Norway takes 5 days.", count=3)
    world.clock.offset = timedelta(seconds=TWO_DAYS_AND_A_BIT)

    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "Norway takes 7 days.")
    correction = (await world.tg.wait_for_messages(CAROL, 4))[3]
    assert correction.text == "Correction: Norway takes 7 days."
    await world.thread_has(root["ts"], "Telegram allows edits for 48 hours")
    assert "editMessageText" not in [c for c, _ in world.tg.calls]


async def test_operator_deleting_a_delivered_reply_deletes_it_for_the_customer(world: World) -> None:
    root = await _taken_over(world)
    posted, delivered = await _reply(world, root, "Oops, wrong customer.", count=3)

    await world.slack.user_deletes(ALICE, CHANNEL, posted["ts"])
    assert await world.tg.wait_until(lambda: world.tg.deletions, what="deleteMessage") == [
        (CAROL, delivered.message_id)]
    await _settled(world)
    [reply] = await _messages(world, author="operator")
    assert reply.deleted_at is not None
    [entry] = await _audit(world, "message_deleted")
    assert json.loads(entry.detail or "{}")["text"] == "Oops, wrong customer."
    assert not [m for m in world.slack.thread(CHANNEL, root["ts"]) if "not* deleted" in (m.get("text") or "")]


async def test_a_deletion_telegram_refuses_leaves_a_note_in_the_thread(world: World) -> None:
    root = await _taken_over(world)
    posted, _ = await _reply(world, root, "Oops, wrong customer.", count=3)
    world.tg.advance_clock(TWO_DAYS_AND_A_BIT)

    await world.slack.user_deletes(ALICE, CHANNEL, posted["ts"])
    [note] = await world.thread_has(root["ts"], "was *not* deleted for the customer")
    assert "Alice Operator" in note["text"] and "can't be deleted" in note["text"]
    assert world.tg.deletions == []
    [reply] = await _messages(world, author="operator")
    assert reply.deleted_at is not None  # gone from the thread, and recorded as such


async def test_editing_or_deleting_a_note_reaches_nobody(world: World) -> None:
    root = await _taken_over(world)
    note = await world.slack.user_posts(BOB, CHANNEL, "psst, offer a voucher", thread_ts=root["ts"])
    await world.ephemeral_to(BOB, "was not sent")
    await world.slack.user_edits(BOB, CHANNEL, note["ts"], "psst, offer a 10% voucher")
    await _until(world, lambda: _stored_text(world, "psst, offer a 10% voucher"))
    await world.slack.user_deletes(BOB, CHANNEL, note["ts"])
    await _until(world, lambda: _deleted_in_db(world))
    await _settled(world)
    stored = await _messages(world, author="operator")
    assert [(m.text, m.is_note) for m in stored] == [("psst, offer a 10% voucher", True)]
    assert world.tg.edits == [] and world.tg.deletions == []
    assert len(world.tg.messages_to(CAROL)) == 2
    assert not [m for m in world.slack.thread(CHANNEL, root["ts"]) if "deleted" in (m.get("text") or "")]


async def test_an_edit_by_someone_who_no_longer_owns_the_conversation_is_not_sent(world: World) -> None:
    root = await _taken_over(world)
    posted, _ = await _reply(world, root, "Norway takes 5 days.", count=3)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "handback")
    await world.tg.wait_for_messages(CAROL, 4)

    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "Norway takes 7 days.")
    await world.ephemeral_to(ALICE, "Your edit was *not* sent to the customer")
    await _settled(world)
    assert world.tg.edits == [] and len(world.tg.messages_to(CAROL)) == 4


async def test_a_redelivered_operator_edit_is_applied_once_and_decorations_are_ignored(world: World) -> None:
    root = await _taken_over(world)
    posted, _ = await _reply(world, root, "See https://example.com", count=3)
    # Slack adding an unfurl: a message_changed whose text did not change.
    current = world.slack.message(CHANNEL, posted["ts"])
    await world.slack.deliver_event({"type": "message", "subtype": "message_changed", "hidden": True,
                                     "channel": CHANNEL, "ts": world.slack.next_ts(),
                                     "message": {**current, "attachments": [{"title": "Example"}]},
                                     "previous_message": current})

    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "See https://example.org")
    await world.tg.wait_until(lambda: world.tg.edits, what="editMessageText")
    await world.slack.redeliver_last_event()
    await world.slack.user_posts(ALICE, CHANNEL, "Anything else?", thread_ts=root["ts"])  # a barrier
    await world.tg.wait_for_messages(CAROL, 4)
    await _settled(world)
    assert [e.plain_text for e in world.tg.edits] == ["See https://example.org"]
    assert len(await _audit(world, "message_edited")) == 1


async def test_an_edit_right_after_posting_still_reaches_the_customer(world: World) -> None:
    root = await _taken_over(world)
    # No waiting in between: the edit can be handled before the reply itself is recorded.
    posted = await world.slack.user_posts(ALICE, CHANNEL, "Norway takes 5 days.", thread_ts=root["ts"])
    await world.slack.user_edits(ALICE, CHANNEL, posted["ts"], "Norway takes 7 days.")
    await world.tg.wait_until(lambda: _customer_sees(world, CAROL) == [
        "How long does shipping take?", "Shipping takes 2-3 business days.", "You're now talking with Alice.",
        "Norway takes 7 days."], what="the edited reply in Carol's chat")


# --- helpers ----------------------------------------------------------------------------------


async def _taken_over(world: World) -> dict[str, Any]:
    """Carol asked, the agent answered, Alice took over: two messages reached Carol."""
    root = await world.taken_over()
    return root


async def _reply(world: World, root: dict[str, Any], text: str, *, count: int) -> tuple[dict[str, Any], Any]:
    """Alice's reply in the thread and the Telegram message it became, once Baton recorded it (✅)."""
    posted = await world.slack.user_posts(ALICE, CHANNEL, text, thread_ts=root["ts"])
    delivered = (await world.tg.wait_for_messages(CAROL, count))[count - 1]
    await world.slack.wait_for(lambda: world.slack.message(CHANNEL, posted["ts"]).get("reactions"),
                               what="the ✅ on the reply")
    return posted, delivered


async def _settled(world: World) -> None:
    assert world.baton is not None
    await world.baton.settled()


async def _messages(world: World, *, author: str) -> Sequence[Message]:
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        stmt = select(Message).where(Message.author == author).order_by(col(Message.id))
        return (await session.exec(stmt)).all()


async def _audit(world: World, action: str) -> list[AuditEntry]:
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        return [e for e in await audit.find_for_conversation(session, 1) if e.action == action]


async def _until(world: World, check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Until `check()` holds, re-checked after each event Baton commits (it wakes the dispatchers)."""
    assert world.baton is not None
    service, committed = world.baton.service, asyncio.Event()
    original = service.wake

    def wake() -> None:
        committed.set()
        original()

    service.wake = wake
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await committed.wait()
                committed.clear()
    finally:
        service.wake = original


async def _stored_text(world: World, text: str) -> bool:
    return any(m.text == text for m in await _messages(world, author="operator"))


async def _deleted_in_db(world: World) -> bool:
    return any(m.deleted_at for m in await _messages(world, author="operator"))


def _customer_sees(world: World, user_id: int) -> list[str]:
    chat = world.tg.chats[user_id]
    return [chat.messages[i].get("text", "") for i in chat.order if i not in chat.deleted]
