"""The hand-back brief's wording: who said what during the human stretch, short."""

from __future__ import annotations

from bot.core.brief import MAX_CHARS_PER_MESSAGE, MAX_MESSAGES, format_brief
from storage.models import Message


def message(author: str, text: str, name: str | None = None) -> Message:
    return Message(conversation_id=1, author=author, text=text, author_name=name)


def test_one_line_per_message_customer_and_named_operator() -> None:
    brief = format_brief([message("customer", "I was charged\ntwice"), message("operator", "Refunded.", "Alice Smith"),
                          message("operator", "Anything else?"), message("system", "ignored")])
    assert brief == "Customer: I was charged twice\nAlice Smith (operator): Refunded.\nOperator: Anything else?"


def test_nothing_said_means_no_brief() -> None:
    assert format_brief([]) is None
    assert format_brief([message("customer", "")]) is None


def test_long_stretches_keep_the_latest_messages_each_clipped() -> None:
    stretch = [message("customer", f"question {n} " + "x" * 400) for n in range(MAX_MESSAGES + 1)]
    lines = (format_brief(stretch) or "").splitlines()
    assert lines[0] == "(earlier messages left out)" and len(lines) == MAX_MESSAGES + 1
    assert lines[1].startswith("Customer: question 1 ")
    assert all(len(line) <= len("Customer: ") + MAX_CHARS_PER_MESSAGE and line.endswith("…") for line in lines[1:])
