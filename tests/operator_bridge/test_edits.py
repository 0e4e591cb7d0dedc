"""Which Slack message events count as a person's edit, and how an edited mirror looks."""

from __future__ import annotations

from operator_bridge.inbound_edits import _by_a_person, _thread_reply
from operator_bridge.outbound_edits import EDITED, UPDATE_LIMIT, edited_mirror


def test_only_people_edit() -> None:
    assert _by_a_person({"user": "U0ALICE", "text": "hi"})
    assert not _by_a_person({"bot_id": "B0BATON", "subtype": "bot_message", "username": "Carol (customer)"})
    assert not _by_a_person({"user": "U0BATONBOT", "bot_id": "B0BATON"})  # the app's own messages
    assert not _by_a_person({"user": "USLACKBOT", "subtype": "tombstone"})
    assert not _by_a_person({"user": "U0ALICE", "subtype": "channel_join"})


def test_only_thread_replies_count() -> None:
    assert _thread_reply({"ts": "2.0", "thread_ts": "1.0"}) == ("2.0", "1.0")
    assert _thread_reply({"ts": "1.0", "thread_ts": "1.0"}) is None  # the thread's root (the card)
    assert _thread_reply({"ts": "1.0"}) is None


def test_an_edited_mirror_says_so_below_the_text() -> None:
    text, blocks, rest = edited_mirror("Where is *my* order?")
    assert text == "Where is *my* order? (edited)" and rest == []
    assert blocks[0]["text"]["text"] == "Where is *my* order?"
    assert blocks[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": EDITED}]}


def _section_text(blocks: list[dict]) -> str:
    return "".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def test_a_long_edited_mirror_keeps_every_character_in_sections_chat_update_accepts() -> None:
    long = " ".join(f"word{i}" for i in range(1200))  # about 9,000 characters
    text, blocks, rest = edited_mirror(long)
    assert len(text) <= UPDATE_LIMIT and rest == []
    assert _section_text(blocks) == long
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert blocks[-1]["elements"][0]["text"] == EDITED


def test_an_edit_too_long_for_one_message_continues_in_the_next() -> None:
    long = "z" * 20_000
    _text, blocks, rest = edited_mirror(long)
    assert _section_text(blocks) + "".join(rest) == long
    assert sum(len(b["text"]["text"]) for b in blocks if b["type"] == "section") <= 12_000
    assert "follows in the next message" in blocks[-1]["elements"][0]["text"]
