"""FakeLLM answers like an OpenAI-compatible server: shapes, auth, errors, scripting, holding back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.llm_server import FakeLLM

CHAT = {"model": "fake-model", "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "Hello there"}]}


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


async def call(llm: FakeLLM, body: Any = CHAT, *, key: str | None = "sk-test-key",
               method: str = "POST", path: str = "/chat/completions") -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as session, \
            session.request(method, llm.base_url + path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_a_chat_completion_has_the_real_shape_and_the_request_is_recorded(llm: FakeLLM) -> None:
    status, body = await call(llm)
    assert status == 200
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "fake-model" and isinstance(body["created"], int)
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": llm.default_reply, "refusal": None}
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    [recorded] = llm.requests
    assert recorded.contents("user") == ["Hello there"] and recorded.authorization == "Bearer sk-test-key"


async def test_scripted_answers_come_in_order_then_the_default(llm: FakeLLM) -> None:
    llm.script("first")
    llm.script(tool_call=("handoff_to_human", {"reason": "asked for a person"}))
    llm.script(status=429)
    assert (await call(llm))[1]["choices"][0]["message"]["content"] == "first"
    choice = (await call(llm))[1]["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [tool_call] = choice["message"]["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["function"]["name"] == "handoff_to_human"
    assert tool_call["function"]["arguments"] == '{"reason": "asked for a person"}'
    status, body = await call(llm)
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert (await call(llm))[1]["choices"][0]["message"]["content"] == llm.default_reply


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"key": "sk-wrong"}, 401, "invalid_api_key"),
    ({"key": None}, 401, "invalid_api_key"),
    ({"body": {**CHAT, "model": "gpt-9"}}, 404, "model_not_found"),
    ({"body": {**CHAT, "messages": []}}, 400, None),
    ({"body": {**CHAT, "messages": [{"role": "robot", "content": "hi"}]}}, 400, None),
    ({"body": {**CHAT, "tools": [{"type": "function", "function": {}}]}}, 400, None),
])
async def test_what_a_real_server_refuses_is_refused_in_the_openai_envelope(
        llm: FakeLLM, kwargs: dict[str, Any], status: int, code: str | None) -> None:
    llm.script("never used: a refused request does not take the script")
    got, body = await call(llm, **kwargs)
    assert got == status
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == code
    assert (await call(llm))[1]["choices"][0]["message"]["content"].startswith("never used")


async def test_models_are_listed_and_no_key_is_needed_when_none_is_set(llm: FakeLLM) -> None:
    status, body = await call(llm, None, method="GET", path="/models")
    assert status == 200 and [m["id"] for m in body["data"]] == ["fake-model"]
    assert (await call(llm, None, method="GET", path="/models", key=None))[0] == 401
    llm.api_key = None
    assert (await call(llm, key=None))[0] == 200


async def test_a_held_reply_waits_for_release(llm: FakeLLM) -> None:
    llm.script("at last", hold=True)
    pending = asyncio.create_task(call(llm))
    await llm.wait_until_held()
    assert not pending.done() and len(llm.requests) == 1
    llm.release()
    assert (await pending)[1]["choices"][0]["message"]["content"] == "at last"
