"""The `openai` agent: the prompt it builds, and what it makes of the server's answers and failures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.agent.base import AgentError, AgentRequest, AgentTurn, CustomerProfile
from bot.agent.faq import DEFAULT_HOLDING_MESSAGE, FaqAgent
from bot.agent.llm import OPERATOR_MARK, OpenAIAgent, history_messages
from sandbox.llm_server import FakeLLM

KB = """\
## How long does shipping take? | delivery time
Standard delivery takes *3-5 business days*.

## Do you ship to Norway? | shipping abroad | international shipping
Yes, we ship to **Norway** in 5-7 days.

## How do I reset my password?
Use *Forgot password?* on the sign-in page.
"""


def ask(*turns: AgentTurn, brief: str | None = None) -> AgentRequest:
    return AgentRequest(conversation_id=1, customer=CustomerProfile("Carol Customer", "carol", "es"),
                        history=list(turns), brief=brief)


def customer(text: str) -> AgentTurn:
    return AgentTurn("customer", text)


def agent_for(llm: FakeLLM | None = None, *, kb: str = KB, **options: object) -> OpenAIAgent:
    return OpenAIAgent(FaqAgent.from_text(kb), model=llm.model if llm else "fake-model",
                       base_url=llm.base_url if llm else "http://127.0.0.1:9/v1",
                       api_key=llm.api_key if llm else None, **options)  # type: ignore[arg-type]


Make = Callable[..., OpenAIAgent]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """agent_for, with each agent's connections closed at the end."""
    made: list[OpenAIAgent] = []

    def factory(*args: object, **options: object) -> OpenAIAgent:
        made.append(agent_for(*args, **options))  # type: ignore[arg-type]
        return made[-1]

    yield factory
    for agent in made:
        await agent.aclose()


# --- the prompt ------------------------------------------------------------------------------------


def test_the_whole_knowledge_base_goes_to_the_model_when_it_fits_the_budget() -> None:
    context = agent_for().context(ask(customer("Wie ist das Wetter?")))
    assert "[1] How long does shipping take?" in context and "[3] How do I reset my password?" in context
    assert "No knowledge-base entry matches" not in context


def test_the_prompt_is_the_system_prompt_then_the_passages_then_the_conversation() -> None:
    messages = agent_for(context_token_budget=10).build_messages(ask(customer("How long does shipping take?")))
    assert [m["role"] for m in messages] == ["system", "system", "user"]
    assert "handoff_to_human" in messages[0]["content"]
    assert "language the customer writes in" in messages[0]["content"]
    context = messages[1]["content"]
    assert "[1] How long does shipping take?\nStandard delivery takes *3-5 business days*." in context
    assert "Carol Customer (@carol), Telegram language setting: es" in context
    assert "password" not in context  # unrelated entries stay out
    assert "While a human" not in context
    assert messages[2] == {"role": "user", "content": "How long does shipping take?"}


def test_passages_are_capped_and_follow_ups_use_the_earlier_question() -> None:
    agent = agent_for(max_context_passages=1, context_token_budget=10)
    context = agent.context(ask(customer("Do you ship to Norway?"), AgentTurn("agent", "Yes."),
                                customer("and how long does it take?")))
    assert context.count("[1]") == 1 and "[2]" not in context
    # "and how long does it take?" alone matches nothing; with the earlier question it finds Norway.
    assert "Norway" in agent_for(context_token_budget=10).context(
        ask(customer("Do you ship to Norway?"), customer("how long then?")))


def test_without_matching_passages_the_model_is_told_to_hand_off() -> None:
    context = agent_for(context_token_budget=10).context(ask(customer("Wie ist das Wetter?")))
    assert "No knowledge-base entry matches" in context and "handoff_to_human" in context
    assert agent_for(max_context_passages=0, context_token_budget=10).passages(ask(customer("shipping time"))) == []


def test_the_hand_back_brief_goes_into_the_context() -> None:
    brief = "Customer: I was charged twice\nAlice Operator (operator): Refunded the second charge."
    context = agent_for().context(ask(customer("thanks"), brief=brief))
    assert f"While a human handled the conversation:\n{brief}" in context


def test_history_roles_operators_marked_system_turns_skipped_same_side_joined() -> None:
    turns = [customer("Hi"), customer("Where is my parcel?"), AgentTurn("agent", "Let me check with a colleague."),
             AgentTurn("system", "Alice took over"), AgentTurn("operator", "It left the warehouse today."),
             customer("Thanks!"), AgentTurn("customer", "   ")]
    assert history_messages(turns) == [
        {"role": "user", "content": "Hi\n\nWhere is my parcel?"},
        {"role": "assistant",
         "content": f"Let me check with a colleague.\n\n{OPERATOR_MARK} It left the warehouse today."},
        {"role": "user", "content": "Thanks!"},
    ]


def test_a_custom_system_prompt_replaces_the_default() -> None:
    messages = agent_for(system_prompt="You are Bob.").build_messages(ask(customer("hi")))
    assert messages[0] == {"role": "system", "content": "You are Bob."}


def test_the_knowledge_base_is_reread_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text("## Opening hours?\nNine to five.\n")
    agent = OpenAIAgent(FaqAgent(path), model="m", base_url="http://127.0.0.1:9/v1")
    assert "Nine to five" in agent.context(ask(customer("opening hours")))
    path.write_text("## Opening hours?\nEight to six, every day.\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert "Eight to six" in agent.context(ask(customer("opening hours")))


# --- answers from the server -----------------------------------------------------------------------


async def test_an_answer_is_markdown_turned_into_the_neutral_html(llm: FakeLLM, make: Make) -> None:
    llm.script("Delivery takes **3-5 business days** <3")
    reply = await make(llm).reply(ask(customer("How long does shipping take?")))
    assert reply.text == "Delivery takes <b>3-5 business days</b> &lt;3"
    assert reply.confidence == 0.8 and reply.handoff_reason is None
    [request] = llm.requests
    assert request.authorization == "Bearer sk-test-key"
    assert request.body["model"] == "fake-model" and request.body["temperature"] == 0.2
    assert request.tool_names == ["handoff_to_human"]
    assert request.body["tools"][0]["function"]["parameters"]["required"] == ["reason"]


async def test_reasoning_is_dropped_from_the_answer(llm: FakeLLM, make: Make) -> None:
    llm.script("<think>The entry says 3-5 days.</think>\nIt takes 3-5 days.")
    reply = await make(llm).reply(ask(customer("shipping time?")))
    assert reply.text == "It takes 3-5 days."


async def test_the_handoff_tool_gives_a_holding_message_and_a_reason(llm: FakeLLM, make: Make) -> None:
    llm.script(tool_call=("handoff_to_human", {"reason": "refund request"}))
    reply = await make(llm).reply(ask(customer("Quiero un reembolso")))
    assert reply.text == DEFAULT_HOLDING_MESSAGE
    assert reply.confidence == 0.0 and reply.handoff_reason == "the agent asked for a human: refund request"

    # The model's own holding message is in the customer's language: it wins over the default.
    llm.script(tool_call=("handoff_to_human", {"reason": "refund", "message": "Un colega le *responderá* aquí."}))
    reply = await make(llm).reply(ask(customer("Quiero un reembolso")))
    assert reply.text == "Un colega le <i>responderá</i> aquí."
    llm.script("Un momento, por favor.", tool_call=("handoff_to_human", {}))
    reply = await make(llm).reply(ask(customer("Quiero un reembolso")))
    assert reply.text == "Un momento, por favor."
    assert reply.handoff_reason == "the agent asked for a human: no reason given"


@pytest.mark.parametrize(("script", "needle"), [
    ({"reply": ""}, "returned an empty answer"),
    ({"reply": "<think>hmm</think>"}, "returned an empty answer"),
    ({"tool_call": ("delete_account", {})}, "called an unknown tool 'delete_account'"),
    ({"status": 500}, "answered 500: The server had an error"),
    ({"status": 429}, "answered 429: Rate limit reached"),
])
async def test_failures_raise_saying_what_happened(llm: FakeLLM, make: Make, script: dict, needle: str) -> None:
    llm.script(**script)
    with pytest.raises(AgentError, match=r"model fake-model at 127\.0\.0\.1:") as caught:
        await make(llm).reply(ask(customer("shipping time?")))
    assert needle in str(caught.value)


async def test_a_wrong_key_is_a_401_and_the_key_never_appears(llm: FakeLLM, make: Make) -> None:
    agent_key = "sk-wrong-secret-123"
    agent = OpenAIAgent(FaqAgent.from_text(KB), model=llm.model, base_url=llm.base_url, api_key=agent_key)
    with pytest.raises(AgentError) as caught:
        await agent.reply(ask(customer("hi")))
    await agent.aclose()
    assert "answered 401" in str(caught.value) and agent_key not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert llm.requests[0].status == 401


async def test_a_slow_server_times_out(llm: FakeLLM, make: Make) -> None:
    llm.script(hold=True)
    with pytest.raises(AgentError, match=r"did not answer within 0\.2s"):
        await make(llm, timeout=0.2).reply(ask(customer("shipping time?")))


async def test_an_unreachable_server_is_named(make: Make) -> None:
    with pytest.raises(AgentError, match=r"cannot reach model fake-model at 127\.0\.0\.1:9"):
        await make(timeout=2).reply(ask(customer("shipping time?")))


async def test_no_key_for_a_local_server(llm: FakeLLM, make: Make) -> None:
    llm.api_key = None  # like Ollama: anything goes
    reply = await make(llm).reply(ask(customer("shipping time?")))
    assert reply.text == llm.default_reply
