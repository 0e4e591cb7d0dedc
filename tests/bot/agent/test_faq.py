"""The FAQ agent with the real embedding model: parsing, retrieval by meaning in several languages, the
answer / ask / hand-off decision with its reasons, translations, bad files and live reload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from bot.agent.base import AgentRequest, AgentTurn, CustomerProfile
from bot.agent.faq import FaqAgent, KnowledgeBaseError, markdown_to_html, parse_knowledge_base
from bot.agent.retrieval import Thresholds

EXAMPLE = Path(__file__).parents[3] / "bot" / "agent" / "knowledge.example.md"

# A small bakery: its own entries, written for these tests.
KB = """\
# Crumb & Co. bakery

Text before the first question is an introduction and is ignored.

## Do you bake gluten-free bread? | gluten free

Yes: a **buckwheat loaf** every Tuesday and Friday. It is baked in the same kitchen as wheat bread.

### [de] Backen Sie glutenfreies Brot?

Ja: jeden Dienstag und Freitag ein **Buchweizenbrot**.

## How do I order a birthday cake?

Order at the counter or by phone at least **three days** ahead; we need the name and the date.

```
## not a question: inside a code block
```

## When are you open?

Monday to Saturday, 7:00 to 18:00. Closed on Sundays and public holidays.

## Can I pay by card?

We take Visa, Mastercard and contactless payments; cash is welcome too.

## Do you deliver?

We deliver within 5 km for orders over 30 euros, between 9:00 and 12:00.
"""


def ask(text: str, language: str | None = None) -> AgentRequest:
    return AgentRequest(conversation_id=1, customer=CustomerProfile("Carol", language=language),
                        history=[AgentTurn("customer", "earlier message"), AgentTurn("agent", "answer"),
                                 AgentTurn("customer", text)])


@pytest.fixture(scope="module")
def agent() -> FaqAgent:
    return FaqAgent.from_text(KB, untranslated_notes={"fr": "Cette réponse n'existe qu'en anglais."})


def test_parsing_keeps_questions_alternatives_translations_and_markdown() -> None:
    entries = parse_knowledge_base(KB)
    assert [e.questions for e in entries] == [
        ("Do you bake gluten-free bread?", "gluten free"), ("How do I order a birthday cake?",),
        ("When are you open?",), ("Can I pay by card?",), ("Do you deliver?",)]
    first = entries[0]
    assert first.answer_html == ("Yes: a <b>buckwheat loaf</b> every Tuesday and Friday. It is baked in the "
                                 "same kitchen as wheat bread.")
    assert first.line == 5
    german = first.version("de-AT")
    assert german is not None and german.questions == ("Backen Sie glutenfreies Brot?",)
    assert german.answer_html == "Ja: jeden Dienstag und Freitag ein <b>Buchweizenbrot</b>."
    assert first.version("fr") is None
    # A "## " line inside a fence stays part of the answer; "# " headings are dropped.
    assert "## not a question: inside a code block" in entries[1].answer


def test_markdown_answers_become_neutral_html() -> None:
    markdown = ("Line one\nwraps. **Bold `code`**, `x < y`, ~~old~~, [mail](mailto:help@shop.test)\n\n"
                "1. first\n2. second\n   - nested\n\n> quoted\n\n"
                "```py\nprint('<hi>')\n```\n\n<b>raw</b> & co")
    assert markdown_to_html(markdown) == (
        "Line one wraps. <b>Bold code</b>, <code>x &lt; y</code>, <s>old</s>, mail (help@shop.test)\n\n"
        "1. first\n2. second\n  • nested\n\n<blockquote>quoted</blockquote>\n\n"
        "<pre><code class=\"language-py\">print('&lt;hi&gt;')</code></pre>\n\n"
        "&lt;b&gt;raw&lt;/b&gt; &amp; co")



@pytest.mark.parametrize(("message", "entry"), [
    ("is there bread without gluten?", "Do you bake gluten-free bread?"),  # reworded
    ("what time do you close on saturday", "When are you open?"),
    ("can you bring the order to my flat?", "Do you deliver?"),
    ("opning hours??", "When are you open?"),  # typo
    ("Aceptan tarjeta de crédito?", "Can I pay by card?"),  # Spanish
    ("Kann ich mit Karte bezahlen?", "Can I pay by card?"),  # German
    ("Как заказать торт на день рождения?", "How do I order a birthday cake?"),  # Russian
])
def test_questions_find_their_entry_by_meaning_in_any_language(agent: FaqAgent, message: str,
                                                               entry: str) -> None:
    decision = agent.decide(message)
    assert decision.best is not None and decision.best.title == entry, decision.why


@pytest.mark.parametrize("message", ["What's the capital of Australia?", "I want to speak to a manager",
                                     "asdfjkl", "thanks, bye!", "", "   "])
async def test_unrelated_messages_hand_off_saying_why(agent: FaqAgent, message: str) -> None:
    reply = await agent.reply(ask(message))
    assert reply.handoff_reason is not None and reply.entry is None
    assert reply.text == "Let me check that with a colleague, they will reply here shortly."
    if message.strip():
        assert reply.handoff_reason.startswith("no entry above 0.82; closest: "), reply.handoff_reason
    assert reply.confidence < 0.875


async def test_an_answer_carries_the_entry_and_its_confidence_for_the_thread(agent: FaqAgent) -> None:
    reply = await agent.reply(ask("When are you open?"))
    assert reply.handoff_reason is None and reply.entry == "When are you open?"
    assert reply.text == "Monday to Saturday, 7:00 to 18:00. Closed on Sundays and public holidays."
    assert reply.context is not None and reply.context.startswith("answered from “When are you open?” (")
    assert f"{reply.confidence:.2f}" in reply.context and reply.confidence >= 0.875


async def test_the_customer_gets_their_languages_version_or_the_default_with_a_note(agent: FaqAgent) -> None:
    german = await agent.reply(ask("Gibt es bei Ihnen glutenfreies Brot?", language="de"))
    assert german.text == "Ja: jeden Dienstag und Freitag ein <b>Buchweizenbrot</b>."
    french = await agent.reply(ask("Do you bake gluten-free bread?", language="fr"))
    assert french.text is not None and french.text.startswith(
        "<i>Cette réponse n'existe qu'en anglais.</i>\n\nYes: a <b>buckwheat loaf</b>")
    english = await agent.reply(ask("Do you bake gluten-free bread?", language="en"))
    assert english.text is not None and english.text.startswith("Yes: a <b>buckwheat loaf</b>")


async def test_two_close_entries_make_the_agent_ask_which_one(agent: FaqAgent) -> None:
    # A margin no answer can reach: every confident match becomes a question with choices.
    strict = FaqAgent.from_text(KB, thresholds=Thresholds(agree=0.83, alone=0.875, margin=50))
    reply = await strict.reply(ask("is there bread without gluten?"))
    assert reply.handoff_reason is None and reply.text is None
    assert reply.context is not None and reply.context.startswith("too close to call: ")
    assert 2 <= len(reply.choices) <= 3
    assert reply.choices[0].label == reply.choices[0].key == "Do you bake gluten-free bread?"
    # Pressing a choice sends the entry's question: that entry is the answer, however close the others.
    picked = await strict.reply(ask("Do you bake gluten-free bread?", language="de"))
    assert picked.entry == "Do you bake gluten-free bread?"
    assert picked.text == "Ja: jeden Dienstag und Freitag ein <b>Buchweizenbrot</b>."


def test_search_ranks_every_entry_with_both_scores(agent: FaqAgent) -> None:
    matches = agent.search("card payment", limit=5)
    assert matches[0].question == "Can I pay by card?"
    assert len(matches) == 5 and matches[0].lexical == 1.0
    assert matches[0].score > matches[1].score


async def test_without_a_model_the_word_matcher_answers_and_says_so() -> None:
    words = FaqAgent.from_text(KB, embedding_model="none")
    reply = await words.reply(ask("when are you open"))
    assert reply.entry == "When are you open?" and reply.context is not None and "words only" in reply.context
    unrelated = await words.reply(ask("what's the capital of Australia"))
    assert unrelated.handoff_reason is not None and "(words only)" in unrelated.handoff_reason


# --- bad files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "problem"), [
    ("## Do you deliver?\nYes.\n\n## When are you open?\n\n## Can I pay by card?\nYes.\n",
     "line 4: the question 'When are you open?' has no answer below it"),
    ("## Do you deliver?\nYes.\n\n## do you  DELIVER?\nNo.\n",
     "line 4: the question 'do you  DELIVER?' is already asked at line 1; merge the two entries"),
    ("## Do you deliver?\nYes.\n### [de] Liefern Sie?\n\n", "line 3: translation [de] has no answer"),
    ("## |  \nanswer for no question\n", "line 1: a `## ` heading with no question"),
])
def test_bad_entries_are_errors_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=re.escape(problem)):
        parse_knowledge_base(text)


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    with pytest.raises(KnowledgeBaseError, match="file not found") as caught:
        FaqAgent(missing)
    assert caught.value.path == missing
    with pytest.raises(KnowledgeBaseError, match="directory"):
        FaqAgent(tmp_path)
    binary = tmp_path / "kb.md"
    binary.write_bytes(b"## Do you deliver?\nYes.\n## Caf\xe9?\n")
    with pytest.raises(KnowledgeBaseError, match=r"line 3: not UTF-8 text .*save the file as UTF-8"):
        FaqAgent(binary)
    binary.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="the file is empty"):
        FaqAgent(binary)
    binary.write_text("# Just a title\n\nNo questions yet.\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="no entries"):
        FaqAgent(binary)


async def test_file_edits_apply_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text("## What are your opening hours?\n\nMonday to Friday.\n", encoding="utf-8")
    agent = FaqAgent(path)
    assert (await agent.reply(ask("What are your opening hours?"))).text == "Monday to Friday."
    assert agent.reload_if_changed() is False  # unchanged file: nothing re-read

    path.write_text("## What are your opening hours?\n\nEvery day, 8 to 20.\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert (await agent.reply(ask("What are your opening hours?"))).text == "Every day, 8 to 20."


async def test_a_broken_edit_keeps_the_last_good_version(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text("## Do you ship abroad?\n\nYes, to all of Europe.\n", encoding="utf-8")
    agent = FaqAgent(path)
    assert agent.wait_until_indexed(30)
    path.write_text("## Do you ship abroad?\n\nYes.\n\n## Do you ship abroad?\nNo.\n", encoding="utf-8")
    assert agent.reload_if_changed() is False
    assert "already asked at line 1; merge the two entries; keeping the previous version" in caplog.text
    path.unlink()
    assert agent.reload_if_changed() is False
    assert (await agent.reply(ask("Do you ship abroad?"))).text == "Yes, to all of Europe."


def test_a_large_knowledge_base_is_indexed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text("".join(f"## Question number {n}?\nAnswer {n}.\n\n" for n in range(5000)), encoding="utf-8")
    agent = FaqAgent(path, embedding_model="none")  # the words-only index: fast enough for a test
    assert agent.wait_until_indexed(60)
    assert len(agent.entries) == 5000
    assert agent.decide("question number 4321").best is not None


async def test_example_knowledge_base_is_sensible() -> None:
    agent = FaqAgent(EXAMPLE)
    assert agent.wait_until_indexed(60)
    assert 8 <= len(agent.entries) <= 12
    expectations = {
        "where is my order?": "How can I track my order?",
        "when do I get my money back": "When will I get my refund?",
        "I want to return my shoes": "What is your return policy?",
        "can I pay with PayPal?": "Which payment methods do you accept?",
        "are you open on sunday": "What are your opening hours?",
    }
    for question, expected in expectations.items():
        reply = await agent.reply(ask(question))
        assert reply.entry == expected, (question, reply.handoff_reason or reply.context)
    assert (await agent.reply(ask("what is the meaning of life"))).handoff_reason is not None
    # Messages that ask nothing never get an entry, however high the model rates them against one.
    for small_talk in ("Hi, quick question", "hello", "thanks!", "Привет", "can you help me?"):
        reply = await agent.reply(ask(small_talk))
        assert reply.entry is None and reply.handoff_reason is not None, (small_talk, reply.context)


def test_the_index_cache_keeps_vectors_between_starts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.agent.embedding import E5Embedder

    cache = tmp_path / "cache" / "kb-index.npz"
    agent = FaqAgent.from_text(KB, index_cache=cache)
    assert cache.exists() and agent.decide("When are you open?").action == "answer"
    fresh = E5Embedder()  # as after a restart: nothing embedded yet
    # 6 versions (5 entries, 1 translation) as question and answer, 7 questions alone, 1 alternative phrasing.
    assert fresh.load_cache(cache) == 14
    texts = [p.text for p in agent._snapshot.index.passages if p.view == "entry"]  # type: ignore[union-attr]
    before = len(fresh._memo)
    fresh.passages(texts)
    assert len(fresh._memo) == before  # nothing had to be embedded again

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    FaqAgent.from_text(KB, index_cache=blocked / "kb-index.npz")
    assert "not written" in caplog.text and "the next start embeds the knowledge base again" in caplog.text


def test_a_message_seen_lately_is_not_embedded_again() -> None:
    from bot.agent import embedding

    model = embedding.E5Embedder()
    first = model.queries(["where is my parcel", "opening hours", "where is my parcel"])
    assert np.array_equal(first[0], first[2]) and not np.array_equal(first[0], first[1])
    assert list(model._recent) == ["opening hours", "where is my parcel"]  # most recent last
    model.forget_queries()
    again = model.queries(["where is my parcel"])
    assert np.allclose(again[0], first[0], atol=1e-6)  # the same vector as computed afresh
    for number in range(embedding.RECENT_QUERIES + 5):  # old ones make room: the memory stays bounded
        model._recent[f"text {number}"] = again[0]
    model.queries(["one more"])
    assert len(model._recent) == embedding.RECENT_QUERIES and "where is my parcel" not in model._recent
