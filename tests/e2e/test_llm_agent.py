"""The `openai` backend end to end: Baton builds it from `[agent]` and talks to the fake LLM server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.agent.faq import DEFAULT_HOLDING_MESSAGE
from bot.agent.llm import OPERATOR_MARK
from bot.core.agent_worker import HOLDING_ON_FAILURE
from sandbox.llm_server import FakeLLM
from tests.support.harness import ALICE, CHANNEL, World, card_text

CAROL = 1001

KB = """\
## How long does shipping take? | delivery time
Shipping takes **2-3 business days**.

## Can I get a refund? | money back
Refunds are handled by our team within 14 days.
"""


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


@pytest.fixture
def llm_world(llm: FakeLLM, world: World) -> World:
    (world.tmp_path / "knowledge.md").write_text(KB)
    world.agent = None  # type: ignore[assignment]  # Baton builds the agent from [agent], as in production
    return world


async def start(world: World, llm: FakeLLM, **agent: Any) -> None:
    baton = await world.start(agent={"backend": "openai", "base_url": llm.base_url, "model": llm.model,
                                     "api_key": llm.api_key, "timeout_seconds": 5, **agent})
    # The knowledge base is indexed on a worker thread: wait for it, as a busy machine may take a while.
    assert await asyncio.to_thread(baton.agent.knowledge.wait_until_indexed, 60)  # type: ignore[attr-defined]


async def test_a_plain_answer_reaches_the_customer_and_the_thread(llm_world: World, llm: FakeLLM) -> None:
    world = llm_world
    llm.script("Shipping takes **2-3 business days**.")
    await start(world, llm)
    await world.tg.customer_sends(CAROL, "How long does shipping take?")

    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Shipping takes <b>2-3 business days</b>." and answer.parse_mode == "HTML"
    root = await world.root()
    [mirrored] = await world.thread_has(root["ts"], "2-3 business days")
    assert mirrored["username"] == "Baton agent"
    assert "Agent is answering" in card_text(world.slack.message(CHANNEL, root["ts"]))

    [request] = llm.requests
    assert request.authorization == f"Bearer {llm.api_key}"
    assert "Shipping takes **2-3 business days**." in request.contents("system")[1]  # the passage
    assert request.contents("user") == ["How long does shipping take?"]
    assert request.tool_names == ["handoff_to_human"]


async def test_the_handoff_tool_holds_the_customer_and_calls_a_human(llm_world: World, llm: FakeLLM) -> None:
    world = llm_world
    llm.script(tool_call=("handoff_to_human", {"reason": "the customer wants a refund"}))
    await start(world, llm)
    await world.tg.customer_sends(CAROL, "I want my money back for order 1234!")

    [holding] = await world.tg.wait_for_messages(CAROL, 1)
    assert holding.text == DEFAULT_HOLDING_MESSAGE
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "Needs a human")
    assert "the agent asked for a human: the customer wants a refund" in note["text"]
    await world.card_says(root["ts"], "Waiting for a human")


# The 500 case keeps the generous deadline: a busy machine can take longer than a tight one to build the
# first request, and the note must then name the 500, not a timeout.
@pytest.mark.parametrize(("script", "timeout", "why"), [
    ({"delay": 5}, 0.3, "did not answer within 0.3s"),  # the worker's deadline, or the client's just after
    ({"status": 500}, 5, "answered 500: The server had an error"),
], ids=["timeout", "500"])
async def test_a_failing_model_gives_the_holding_message_and_calls_a_human(
        llm_world: World, llm: FakeLLM, script: dict[str, Any], timeout: float, why: str) -> None:
    world = llm_world
    llm.script(**script)
    await start(world, llm, timeout_seconds=timeout)
    await world.tg.customer_sends(CAROL, "How long does shipping take?")

    [holding] = await world.tg.wait_for_messages(CAROL, 1)
    assert holding.text == HOLDING_ON_FAILURE
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "Needs a human")
    assert why in note["text"]
    assert llm.api_key not in note["text"]  # type: ignore[operator]
    await world.card_says(root["ts"], "Waiting for a human")


async def test_after_a_hand_back_the_model_gets_the_brief_of_the_human_stretch(
        llm_world: World, llm: FakeLLM) -> None:
    world = llm_world
    llm.script(tool_call=("handoff_to_human", {"reason": "damaged order"}))
    await start(world, llm)
    # Worded so that no escalation keyword (on branches with rules) hands off before the model is asked.
    await world.tg.customer_sends(CAROL, "My order 1234 arrived broken")
    root = await world.root()
    await world.card_says(root["ts"], "Waiting for a human")
    await world.tg.wait_for_messages(CAROL, 1)  # the holding line has left before anyone takes over

    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 2)  # "you're now talking with Alice"
    await world.tg.customer_sends(CAROL, "It was charged twice")
    await world.thread_has(root["ts"], "It was charged twice")
    await world.slack.user_posts(ALICE, CHANNEL, "Refunded the second charge, you will see it in 3-5 days.",
                                 thread_ts=root["ts"])
    await world.tg.wait_for_messages(CAROL, 3)
    await world.card_says(root["ts"], "has taken over")
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "handback")
    await world.card_says(root["ts"], "Agent is answering")
    await world.tg.wait_for_messages(CAROL, 4)  # "you're back with our automated assistant"

    llm.script("You're welcome! Shipping takes 2-3 business days.")
    await world.tg.customer_sends(CAROL, "Thanks! How long does shipping take?")
    answer = (await world.tg.wait_for_messages(CAROL, 5))[-1]
    assert answer.text == "You're welcome! Shipping takes 2-3 business days."

    first, second = await llm.wait_for_requests(2)
    assert "While a human" not in "\n".join(first.contents("system"))
    context = second.contents("system")[1]
    assert ("While a human handled the conversation:\n"
            "Customer: It was charged twice\n"
            "Alice Operator (operator): Refunded the second charge, you will see it in 3-5 days.") in context
    assert "order 1234" not in context  # answered by the agent's handoff, before the human stretch
    # In the history too, the operator's reply is the assistant's side, marked as a person's.
    assert (f"{OPERATOR_MARK} Refunded the second charge, you will see it in 3-5 days."
            in "\n".join(second.contents("assistant")))
    assert second.messages[-1] == {"role": "user", "content": "Thanks! How long does shipping take?"}
    assert world.baton is not None
    await world.baton.settled()
    assert len(llm.requests) == 2  # nothing was asked while Alice had the conversation


async def test_the_whole_knowledge_base_goes_to_the_model_and_the_thread_names_the_entry_used(
        llm_world: World, llm: FakeLLM) -> None:
    world = llm_world
    llm.script("Refunds take up to **14 days**.\n[entry 2]")
    await start(world, llm)
    await world.tg.customer_sends(CAROL, "when do I see my money again?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Refunds take up to <b>14 days</b>."  # the entry tag is for the team only
    root = await world.root()
    [why] = await world.thread_has(root["ts"], ":mag:")
    assert why["text"] == f":mag: answered from “Can I get a refund?” ({llm.model})"
    [request] = llm.requests
    context = request.contents("system")[1]  # small enough: every entry, numbered
    assert "[1] How long does shipping take?" in context and "[2] Can I get a refund?" in context


async def test_over_the_token_budget_the_model_gets_the_best_entries_only(llm_world: World, llm: FakeLLM) -> None:
    world = llm_world
    llm.script("Shipping takes 2-3 business days.")
    await start(world, llm, context_token_budget=10)
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)
    [request] = llm.requests
    context = request.contents("system")[1]
    assert "[1] How long does shipping take?" in context and "refund" not in context.lower()
    root = await world.root()
    [why] = await world.thread_has(root["ts"], ":mag:")
    assert why["text"] == f":mag: answered by {llm.model}, naming no knowledge-base entry"
