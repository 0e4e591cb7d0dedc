"""The built-in FAQ agent end to end, with the real embedding model: what the customer gets and what the
thread shows about why."""

from __future__ import annotations

import pytest

from bot.agent.faq import DEFAULT_HOLDING_MESSAGE
from tests.support.harness import World

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


@pytest.fixture
def faq_world(world: World) -> World:
    (world.tmp_path / "knowledge.md").write_text(KB)
    world.agent = None  # type: ignore[assignment]  # Baton builds the agent from [agent], as in production
    return world


async def test_an_answer_reaches_the_customer_and_the_thread_says_which_entry(faq_world: World) -> None:
    world = faq_world
    await world.start()
    await world.tg.customer_sends(CAROL, "what time do you open on saturday?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Monday to Saturday, 7:00 to 18:00."
    root = await world.root()
    await world.thread_has(root["ts"], "Monday to Saturday")
    [why] = await world.thread_has(root["ts"], ":mag: answered from")
    assert why["text"].startswith(":mag: answered from “When are you open?” (When are you open? 0.")


async def test_a_german_customer_gets_the_german_version_or_a_note(faq_world: World) -> None:
    world = faq_world
    await world.start(texts={"de": {"untranslated_answer": "Diese Antwort gibt es nur auf Englisch."}})
    await world.tg.customer_sends(DAN, "Wann haben Sie am Samstag geöffnet?")
    [answer] = await world.tg.wait_for_messages(DAN, 1)
    assert answer.text == "Montag bis Samstag, 7 bis 18 Uhr."
    await world.tg.customer_sends(DAN, "Do you deliver?")  # Dan's Telegram is German: a note says why English
    [_, untranslated] = await world.tg.wait_for_messages(DAN, 2)
    assert untranslated.text == ("<i>Diese Antwort gibt es nur auf Englisch.</i>\n\n"
                                 "We deliver within 5 km for orders over 30 euros.")


async def test_a_hand_off_says_why_in_the_thread(faq_world: World) -> None:
    world = faq_world
    await world.start()
    await world.tg.customer_sends(CAROL, "What's the capital of Australia?")
    [holding] = await world.tg.wait_for_messages(CAROL, 1)
    assert holding.text == DEFAULT_HOLDING_MESSAGE
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "Needs a human")
    assert "no entry above 0.83; closest: " in note["text"]
    await world.card_says(root["ts"], "Waiting for a human")
