"""The built-in FAQ agent end to end, with the real embedding model: what the customer gets and what the
thread shows about why."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.agent.faq import DEFAULT_HOLDING_MESSAGE
from tests.support.harness import ADMIN, CHANNEL, World

CAROL, DAN = 1001, 1002  # Carol's Telegram is in English, Dan's in German

KB = """\
## When are you open?
Monday to Saturday, 7:00 to 18:00.

### [de] Wann haben Sie geöffnet?
Montag bis Samstag, 7 bis 18 Uhr.

## Do you deliver?
We deliver within 5 km for orders over 30 euros.

## Can I pay by card?
We take Visa, Mastercard and contactless payments.
"""


async def start(world: World, **overrides: Any) -> None:
    """Start Baton and wait until the knowledge base is indexed (a worker thread does it)."""
    baton = await world.start(**overrides)
    assert await asyncio.to_thread(baton.agent.wait_until_indexed, 60)  # type: ignore[attr-defined]


@pytest.fixture
def faq_world(world: World) -> World:
    (world.tmp_path / "knowledge.md").write_text(KB)
    world.agent = None  # type: ignore[assignment]  # Baton builds the agent from [agent], as in production
    return world


async def test_an_answer_reaches_the_customer_and_the_thread_says_which_entry(faq_world: World) -> None:
    world = faq_world
    await start(world)
    await world.tg.customer_sends(CAROL, "what time do you open on saturday?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Monday to Saturday, 7:00 to 18:00."
    root = await world.root()
    await world.thread_has(root["ts"], "Monday to Saturday")
    [why] = await world.thread_has(root["ts"], ":mag: answered from")
    assert why["text"].startswith(":mag: answered from “When are you open?” (When are you open? 0.")


async def test_a_german_customer_gets_the_german_version_or_a_note(faq_world: World) -> None:
    world = faq_world
    await start(world, texts={"de": {"untranslated_answer": "Diese Antwort gibt es nur auf Englisch."}})
    await world.tg.customer_sends(DAN, "Wann haben Sie am Samstag geöffnet?")
    [answer] = await world.tg.wait_for_messages(DAN, 1)
    assert answer.text == "Montag bis Samstag, 7 bis 18 Uhr."
    await world.tg.customer_sends(DAN, "Do you deliver?")  # Dan's Telegram is German: a note says why English
    [_, untranslated] = await world.tg.wait_for_messages(DAN, 2)
    assert untranslated.text == ("<i>Diese Antwort gibt es nur auf Englisch.</i>\n\n"
                                 "We deliver within 5 km for orders over 30 euros.")


async def test_a_hand_off_says_why_in_the_thread(faq_world: World) -> None:
    world = faq_world
    await start(world)
    await world.tg.customer_sends(CAROL, "What's the capital of Australia?")
    [holding] = await world.tg.wait_for_messages(CAROL, 1)
    assert holding.text == DEFAULT_HOLDING_MESSAGE
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "Needs a human")
    assert "no entry above 0.82; closest: " in note["text"]
    await world.card_says(root["ts"], "Waiting for a human")


BAKERY = """\
## Do you bake gluten-free bread?
Yes: a buckwheat loaf every Tuesday and Friday.

## Do you bake rye bread?
Yes, every day from 7:00.

## Can I pay by card?
We take Visa, Mastercard and contactless payments.
"""


def buttons(message: object) -> list[tuple[str, str]]:
    markup = getattr(message, "reply_markup", None) or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


async def test_close_entries_make_the_agent_ask_and_a_press_answers(world: World) -> None:
    (world.tmp_path / "knowledge.md").write_text(BAKERY)
    world.agent = None  # type: ignore[assignment]
    # A margin no answer reaches: every confident match becomes a question with choices.
    await start(world, agent={"answer_margin": 50})
    await world.tg.customer_sends(CAROL, "is there bread without gluten?")
    [question] = await world.tg.wait_for_messages(CAROL, 1)
    assert question.text == "Which of these do you mean?"
    offered = buttons(question)
    assert offered[0][0] == "Do you bake gluten-free bread?" and 3 <= len(offered) <= 4
    assert offered[-1][0] == "Talk to a person"
    root = await world.root()
    await world.thread_has(root["ts"], "Which of these do you mean?")
    [note] = await world.thread_has(root["ts"], ":question: The agent asked which one is meant")
    assert "too close to call: Do you bake gluten-free bread? 0." in note["text"]
    assert "Buttons: “Do you bake gluten-free bread?”" in note["text"] and "“Talk to a person”" in note["text"]

    await world.tg.customer_presses_button(CAROL, question.message_id, offered[0][1])
    [_, answer] = await world.tg.wait_for_messages(CAROL, 2)
    assert answer.text == "Yes: a buckwheat loaf every Tuesday and Friday."
    await world.thread_has(root["ts"], ":point_up: The customer pressed this button")
    [why] = await world.thread_has(root["ts"], ":mag: answered from “Do you bake gluten-free bread?”")
    assert "the message is this entry's question" in why["text"]
    await world.card_says(root["ts"], "Agent is answering")


async def test_talk_to_a_person_hands_off(world: World) -> None:
    (world.tmp_path / "knowledge.md").write_text(BAKERY)
    world.agent = None  # type: ignore[assignment]
    await start(world, agent={"answer_margin": 50})
    await world.tg.customer_sends(CAROL, "is there bread without gluten?")
    [question] = await world.tg.wait_for_messages(CAROL, 1)
    await world.tg.customer_presses_button(CAROL, question.message_id, buttons(question)[-1][1])
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "Needs a human")
    assert "the customer asked for a person instead of the agent's choices" in note["text"]
    await world.card_says(root["ts"], "Waiting for a human")
    [_, waiting] = await world.tg.wait_for_messages(CAROL, 2)
    assert waiting.text.startswith("I've asked a colleague to join")


async def test_status_shows_the_knowledge_base_and_a_words_only_fallback(faq_world: World) -> None:
    world = faq_world
    await start(world, agent={"embedding_model": "none"})
    await world.slack.slash_command(ADMIN, "/baton", "status", channel=CHANNEL)
    status = await world.ephemeral_to(ADMIN, "is running")
    assert 'Knowledge base: 3 entries, matching by *words only* (agent.embedding_model = "none")' in status.text
    (world.tmp_path / "knowledge.md").write_text(KB + "\n## Do you sell coffee?\nYes, to take away.\n")
    await world.slack.slash_command(ADMIN, "/baton", "kb reload", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "Knowledge base reloaded: 4 entries.")
