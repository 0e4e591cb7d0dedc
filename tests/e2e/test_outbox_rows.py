"""Outbox rows left pending across an upgrade: rows in the JSON the previous release wrote still leave, and a
row nothing can read fails, naming itself, without holding up the rows behind it."""

from __future__ import annotations

from sqlmodel import col, select

from storage import customers
from storage.db import Database
from storage.models import Conversation, Message, OutboxItem
from tests.support.harness import CHANNEL, World

CAROL = 1001


async def _a_conversation_with_its_thread(world: World) -> tuple[Conversation, str]:
    baton = await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)
    root = await world.root()
    await world.thread_has(root["ts"], "Shipping takes 2-3 business days.")
    await baton.settled()
    async with baton.db.transaction() as session:
        customer = await customers.get_by_tg_user_id(session, CAROL)
        assert customer is not None
        conv = (await session.exec(select(Conversation).where(Conversation.customer_id == customer.id))).one()
    return conv, root["ts"]


async def _while_stopped(world: World, *rows: OutboxItem | Message) -> list[int]:
    """Written straight into the database while Baton is down, as a running older release would have left
    them; the ids of the outbox rows."""
    await world.stop()
    db = Database(world.settings().storage.url)
    try:
        async with db.transaction() as session:
            for row in rows:
                session.add(row)
                await session.flush()
                if isinstance(row, Message):
                    for item in rows:
                        if isinstance(item, OutboxItem) and item.message_id == -1:
                            item.message_id = row.id
        return [row.id for row in rows if isinstance(row, OutboxItem) and row.id is not None]
    finally:
        await db.dispose()


def _thread_row(conv: Conversation, kind: str, payload: str) -> OutboxItem:
    return OutboxItem(destination="slack", lane=f"conversation:{conv.id}", conversation_id=conv.id, kind=kind,
                      payload=payload)


def _customer_row(conv: Conversation, kind: str, payload: str, message_id: int | None = None) -> OutboxItem:
    return OutboxItem(destination="telegram", lane=f"customer:{conv.customer_id}", conversation_id=conv.id,
                      kind=kind, payload=payload, message_id=message_id)


async def _rows(world: World, ids: list[int]) -> list[OutboxItem]:
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        return list((await session.exec(select(OutboxItem).where(col(OutboxItem.id).in_(ids))
                                        .order_by(col(OutboxItem.id)))).all())


async def test_rows_written_in_the_previous_format_are_delivered_after_an_upgrade(world: World) -> None:
    conv, root_ts = await _a_conversation_with_its_thread(world)
    reply = Message(conversation_id=conv.id or 0, author="operator", author_name="Alice", kind="text",
                    text="Your parcel left today.", html="Your parcel left <b>today</b>.")
    # Exactly the JSON the release before the typed outbox stored (its deliverers read it with .get()).
    ids = await _while_stopped(
        world, reply,
        _customer_row(conv, "deliver", "{}", message_id=-1),
        _customer_row(conv, "notice", '{"text": "Alice joined the conversation."}'),
        _customer_row(conv, "notice", '{"text": "Half-way through a retry.", "chunks_sent": 0}'),
        _customer_row(conv, "rating", '{"text": "How did we do?"}'),
        _thread_row(conv, "note", '{"text": ":rotating_light: *Needs a human*: left pending.", "alert": true}'),
        _thread_row(conv, "react", f'{{"ts": "{root_ts}", "name": "eyes"}}'),
        _thread_row(conv, "update_card", "{}"),
    )
    baton = await world.start()
    sent = await world.tg.wait_for_messages(CAROL, 5)
    assert [m.text for m in sent[1:]] == ["Your parcel left <b>today</b>.", "Alice joined the conversation.",
                                          "Half-way through a retry.", "How did we do?"]
    assert "csat:" in str(sent[-1].reply_markup)
    await world.thread_has(root_ts, "Needs a human")
    await world.slack.wait_for(lambda: "eyes" in world.slack.reactions.get((CHANNEL, root_ts), []),
                               what=":eyes: on the thread's root")
    await baton.settled()
    assert [(row.kind, row.status) for row in await _rows(world, ids)] == [
        ("deliver", "done"), ("notice", "done"), ("notice", "done"), ("rating", "done"), ("note", "done"),
        ("react", "done"), ("update_card", "done")]
    async with baton.db.transaction() as session:
        stored = await session.get(Message, reply.id)
        assert stored is not None and stored.tg_message_id == sent[1].message_id


async def test_a_row_nothing_can_read_fails_naming_itself_and_the_lane_goes_on(world: World) -> None:
    conv, root_ts = await _a_conversation_with_its_thread(world)
    ids = await _while_stopped(
        world,
        _thread_row(conv, "note", "{}"),
        _thread_row(conv, "react", '{"ts": 12, "name": "eyes"}'),
        _thread_row(conv, "frobnicate", '{"text": "from a newer release"}'),
        _thread_row(conv, "note", '{"note": "frobnicated", "fields": {"by": "a newer release"}}'),
        _thread_row(conv, "note", '{"text": "After the broken ones."}'),
        _customer_row(conv, "notice", '["not", "an", "object"]'),
        _customer_row(conv, "notice", '{"text": "Still here."}'),
    )
    baton = await world.start()
    await world.thread_has(root_ts, "After the broken ones.")
    assert (await world.tg.wait_for_messages(CAROL, 2))[-1].text == "Still here."
    # A failed delivery to the customer is said in the thread, as for any other failure.
    await world.thread_has(root_ts, "Not delivered to the customer")
    await baton.settled()
    rows = await _rows(world, ids)
    assert [row.status for row in rows] == ["failed", "failed", "failed", "failed", "done", "failed", "done"]
    errors = [row.last_error or "" for row in rows]
    assert errors[0] == f"outbox {ids[0]} (slack/note): malformed payload: neither 'note' nor 'text' is given"
    assert errors[1] == f"outbox {ids[1]} (slack/react): malformed payload: 'ts' is 12, not str"
    assert errors[2] == f"outbox {ids[2]} (slack/frobnicate): unknown outbox kind"
    assert errors[3] == f"outbox {ids[3]} (slack/note): unknown thread note 'frobnicated'"
    assert errors[5] == f"outbox {ids[5]} (telegram/notice): malformed payload: a JSON list, not an object"
