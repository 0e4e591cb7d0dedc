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
    text, blocks = edited_mirror("Where is *my* order?")
    assert text == "Where is *my* order? (edited)"
    assert blocks is not None and blocks[0]["text"]["text"] == "Where is *my* order?"
    assert blocks[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": EDITED}]}


def test_a_long_edited_mirror_is_plain_text_that_chat_update_accepts() -> None:
    text, blocks = edited_mirror("x" * 5000)
    assert blocks is None and text.endswith(f"…\n{EDITED}") and len(text) <= UPDATE_LIMIT
    text, blocks = edited_mirror("y" * 3500)
    assert blocks is None and text == "y" * 3500 + f"\n{EDITED}"
