"""The FAQ agent: knowledge base parsing, fuzzy matching, handoff and live reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.agent.base import AgentRequest, AgentTurn, CustomerProfile
from bot.agent.faq import (
    HANDOFF_REASON,
    FaqAgent,
    KnowledgeBaseError,
    markdown_to_html,
    parse_knowledge_base,
)

EXAMPLE = Path(__file__).parents[3] / "bot" / "agent" / "knowledge.example.md"

KB = """\
# Shop FAQ

Text before the first question is an introduction and is ignored.

## How do I reset my password? | forgot password | can't log in

Use **Forgot password?** on the [sign-in page](https://shop.test/login).

# Delivery

## How long does shipping take? | delivery time

Standard delivery takes *3-5 business days*.

```
## not a question: inside a code block
```

## Как сбросить пароль? | забыл пароль

Нажмите «Забыли пароль?» на странице входа.
"""


def ask(text: str) -> AgentRequest:
    return AgentRequest(conversation_id=1, customer=CustomerProfile("Carol"),
                        history=[AgentTurn("customer", "earlier message"), AgentTurn("agent", "answer"),
                                 AgentTurn("customer", text)])


def test_parsing_keeps_questions_alternatives_and_markdown_answers() -> None:
    entries = parse_knowledge_base(KB)
    assert [e.questions for e in entries] == [
        ("How do I reset my password?", "forgot password", "can't log in"),
        ("How long does shipping take?", "delivery time"),
        ("Как сбросить пароль?", "забыл пароль"),
    ]
    assert entries[0].answer == "Use **Forgot password?** on the [sign-in page](https://shop.test/login)."
    assert entries[0].answer_html == (
        'Use <b>Forgot password?</b> on the <a href="https://shop.test/login">sign-in page</a>.')
    # The "# Delivery" heading is dropped; a "## " line inside a fence stays part of the answer.
    assert entries[1].answer == (
        "Standard delivery takes *3-5 business days*.\n\n```\n## not a question: inside a code block\n```")
    assert "Delivery" not in entries[0].answer


def test_parsing_ignores_empty_entries_and_text_without_questions() -> None:
    assert parse_knowledge_base("# Title\n\nJust an introduction.\n") == []
    assert parse_knowledge_base("## A question without an answer\n\n## |  \nanswer for no question\n") == []


def test_markdown_answers_become_neutral_html() -> None:
    markdown = ("Line one\nwraps. **Bold `code`**, `x < y`, ~~old~~, [mail](mailto:help@shop.test)\n\n"
                "1. first\n2. second\n   - nested\n\n> quoted\n\n"
                "```py\nprint('<hi>')\n```\n\n<b>raw</b> & co")
    assert markdown_to_html(markdown) == (
        "Line one wraps. <b>Bold code</b>, <code>x &lt; y</code>, <s>old</s>, mail (help@shop.test)\n\n"
        "1. first\n2. second\n  • nested\n\n<blockquote>quoted</blockquote>\n\n"
        "<pre><code class=\"language-py\">print('&lt;hi&gt;')</code></pre>\n\n"
        "&lt;b&gt;raw&lt;/b&gt; &amp; co")


async def test_typos_still_match() -> None:
    agent = FaqAgent.from_text(KB)
    reply = await agent.reply(ask("how do I reset my pasword"))
    assert reply.handoff_reason is None
    assert reply.text is not None and reply.text.startswith("Use <b>Forgot password?</b>")
    assert reply.confidence > 0.9
    assert agent.search("how long does shiping take?")[0].question == "How long does shipping take?"


async def test_alternative_phrasings_match() -> None:
    agent = FaqAgent.from_text(KB)
    best = agent.search("Hi! I forgot my password :(", limit=1)[0]
    assert best.question == "How do I reset my password?" and best.score >= 0.9
    reply = await agent.reply(ask("what's the delivery time?"))
    assert (reply.text or "").startswith("Standard delivery takes <i>3-5 business days</i>.")


async def test_cyrillic_questions_match() -> None:
    agent = FaqAgent.from_text(KB)
    reply = await agent.reply(ask("Как сбросить пороль?"))
    assert reply.handoff_reason is None and reply.text == "Нажмите «Забыли пароль?» на странице входа."
    assert agent.search("ЗАБЫЛ ПАРОЛЬ от аккаунта")[0].question == "Как сбросить пароль?"


@pytest.mark.parametrize("text", ["hi", "Hello!", "thanks", "thank you so much", "", "   ", "ok 👍",
                                  "привет", "hola", "good morning team"])
async def test_greetings_and_empty_messages_do_not_match(text: str) -> None:
    agent = FaqAgent.from_text(KB)
    assert all(match.score < 0.2 for match in agent.search(text))
    reply = await agent.reply(ask(text))
    assert reply.handoff_reason == HANDOFF_REASON


async def test_unknown_question_hands_off_with_the_holding_message() -> None:
    agent = FaqAgent.from_text(KB, holding_message="One moment & we'll be right back <3")
    reply = await agent.reply(ask("Do you sell gift cards?"))
    assert reply.handoff_reason == "no confident answer in the knowledge base"
    assert reply.text == "One moment &amp; we'll be right back &lt;3"  # the reply text is neutral HTML
    assert reply.confidence < 0.55


async def test_threshold_is_respected() -> None:
    strict = FaqAgent.from_text(KB, threshold=0.999)
    assert (await strict.reply(ask("how do I reset my pasword"))).handoff_reason is not None


async def test_empty_knowledge_base_always_hands_off() -> None:
    agent = FaqAgent.from_text("# Nothing here yet\n")
    assert agent.search("how do I reset my password") == []
    reply = await agent.reply(ask("How do I reset my password?"))
    assert reply.handoff_reason is not None and reply.confidence == 0.0


async def test_file_edits_apply_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text("## What are your opening hours?\n\nMonday to Friday.\n", encoding="utf-8")
    agent = FaqAgent(path)
    assert (await agent.reply(ask("opening hours?"))).text == "Monday to Friday."
    assert agent.reload_if_changed() is False  # unchanged file: nothing re-read

    path.write_text("## What are your opening hours?\n\nEvery day, 8 to 20.\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert (await agent.reply(ask("opening hours?"))).text == "Every day, 8 to 20."


async def test_a_broken_edit_keeps_the_last_good_version(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text("## Do you ship abroad?\n\nYes.\n", encoding="utf-8")
    agent = FaqAgent(path)
    path.write_bytes(b"## Do you ship abroad?\n\n\xff\xfe not utf-8\n")
    assert agent.reload_if_changed() is False
    path.unlink()
    assert agent.reload_if_changed() is False
    assert (await agent.reply(ask("do you ship abroad"))).text == "Yes."


def test_missing_or_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    with pytest.raises(KnowledgeBaseError, match="file not found") as caught:
        FaqAgent(missing)
    assert caught.value.path == missing and caught.value.reason == "file not found"
    with pytest.raises(KnowledgeBaseError, match="directory"):
        FaqAgent(tmp_path)
    binary = tmp_path / "kb.md"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KnowledgeBaseError, match="not UTF-8"):
        FaqAgent(binary)


async def test_example_knowledge_base_is_sensible() -> None:
    agent = FaqAgent(EXAMPLE)
    assert 8 <= len(agent.entries) <= 12
    expectations = {
        "where is my order?": "How can I track my order?",
        "when do I get my money back": "When will I get my refund?",
        "I want to return my shoes": "What is your return policy?",
        "can I pay with PayPal?": "Which payment methods do you accept?",
        "are you open on sunday": "What are your opening hours?",
        "what is your phone number": "How can I contact you?",
    }
    for question, expected in expectations.items():
        best = agent.search(question, limit=1)[0]
        assert (best.question, best.score >= agent.threshold) == (expected, True), question
    assert (await agent.reply(ask("what is the meaning of life"))).handoff_reason is not None
