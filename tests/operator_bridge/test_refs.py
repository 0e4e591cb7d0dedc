"""How operators name conversations in slash commands."""

from __future__ import annotations

import pytest

from bot.core.events import ConversationRef
from operator_bridge.refs import RefError, parse_ref


@pytest.mark.parametrize(("text", "ref"), [
    ("#12", ConversationRef(conversation_id=12)),
    (" #7 ", ConversationRef(conversation_id=7)),
    ("@carol", ConversationRef(customer_username="carol")),
    ("123456789", ConversationRef(tg_user_id=123456789)),
    ("https://acme.slack.com/archives/C0SUPPORT/p1700000000000100",
     ConversationRef(slack_thread=("C0SUPPORT", "1700000000.000100"))),
    ("<https://acme.slack.com/archives/C0SUPPORT/p1700000000000200?thread_ts=1700000000.000100&cid=C0SUPPORT>",
     ConversationRef(slack_thread=("C0SUPPORT", "1700000000.000100"))),
])
def test_parses(text: str, ref: ConversationRef) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize(("text", "says"), [
    ("", "Say which conversation"),
    ("carol", "is not a conversation reference"),
    ("#x", "is not a conversation reference"),
    ("https://example.com/nothing", "not a Slack message link"),
])
def test_refuses_with_a_helpful_message(text: str, says: str) -> None:
    with pytest.raises(RefError, match=says):
        parse_ref(text)
