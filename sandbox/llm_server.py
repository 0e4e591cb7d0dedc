"""FakeLLM: an aiohttp fake of an OpenAI-compatible chat-completions server, scriptable, for tests and demos.

Answers `POST /v1/chat/completions` and `GET /v1/models` with real-shaped bodies, checks the bearer key when
one is set, records every request, and replies as scripted: a text, a tool call, an error status, or a
reply held back (until `release()` or for a delay) to play a slow model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["FakeLLM", "Recorded", "Scripted"]

ROLES = {"system", "developer", "user", "assistant", "tool"}
ERRORS: dict[int, tuple[str, str, str | None]] = {  # status: message, type, code (as OpenAI sends them)
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error",
          "model_not_found"),
    429: ("Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: a text and/or a tool call, or an error status; held or delayed first."""

    reply: str | None = None
    tool_call: tuple[str, dict[str, Any]] | None = None
    status: int | None = None
    delay: float | None = None
    hold: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request as received: path, JSON body, the Authorization header, and the status answered."""

    path: str
    body: dict[str, Any]
    authorization: str | None
    status: int = 200

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def contents(self, role: str) -> list[str]:
        return [str(m.get("content") or "") for m in self.messages if m.get("role") == role]

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.body.get("tools") or []]


class FakeLLM:
    def __init__(self, *, api_key: str | None = "sk-test-key", models: tuple[str, ...] = ("fake-model",),
                 default_reply: str = "Thanks for your message! This is the sandbox model answering.") -> None:
        self.api_key = api_key
        self.models = models
        self.default_reply = default_reply
        self.requests: list[Recorded] = []
        self.held = 0  # replies being held back right now
        self._script: deque[Scripted] = deque()
        # Both swapped for a fresh Event when set, so each waiter wakes once per change or release.
        self._change = asyncio.Event()
        self._release = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._url = f"http://{host}:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._stopping = True
        self.release()  # held replies end now instead of holding up the shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeLLM is not started")
        return self._url

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as `base_url`."""
        return f"{self.url}/v1"

    @property
    def model(self) -> str:
        return self.models[0]

    # --- scripting -----------------------------------------------------------------------------

    def script(self, reply: str | None = None, *, tool_call: tuple[str, dict[str, Any]] | None = None,
               status: int | None = None, delay: float | None = None, hold: bool = False) -> None:
        """Queue the answer to the next unanswered request (first in, first out). `hold`: wait for
        `release()`; `delay`: wait that many seconds (or until `release()`). Unscripted requests get
        `default_reply`."""
        self._script.append(Scripted(reply, tool_call, status, delay, hold))

    def release(self) -> None:
        """Let every held or delayed reply go."""
        event, self._release = self._release, asyncio.Event()
        event.set()

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        """Until at least `count` chat-completion requests have arrived; returns them all."""
        return await self._wait_for(lambda: len(self.requests) >= count and self.requests,
                                    timeout, f"{count} request(s) to the model")

    async def wait_until_held(self, timeout: float = 5.0) -> None:
        await self._wait_for(lambda: self.held > 0, timeout, "a held reply")

    async def _wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = self._change  # taken before checking, so no change slips in between
            if value := predicate():
                return value
            if (remaining := deadline - loop.time()) <= 0:
                raise AssertionError(f"timed out waiting for {what}; {len(self.requests)} request(s) so far")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)

    def _changed(self) -> None:
        event, self._change = self._change, asyncio.Event()
        event.set()

    # --- HTTP ----------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401)
        created = int(time.time())
        return web.json_response({"object": "list", "data": [
            {"id": model, "object": "model", "created": created, "owned_by": "sandbox"} for model in self.models]})

    async def _chat_completions(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        status, problem = self._check(request, body)
        scripted = self._script.popleft() if status == 200 and self._script else Scripted()
        status = scripted.status or status
        self.requests.append(Recorded(request.path, body, request.headers.get("Authorization"), status))
        self._changed()
        if scripted.hold or scripted.delay:
            await self._hold(None if scripted.hold else scripted.delay)
        if status != 200:
            return _error(status, problem)
        return web.json_response(self._completion(body, scripted))

    def _check(self, request: web.Request, body: dict[str, Any]) -> tuple[int, str | None]:
        """What the real server would refuse: a wrong key, an unknown model, a malformed conversation."""
        if not self._authorized(request):
            return 401, None
        if not body:
            return 400, "We could not parse the JSON body of your request."
        if body.get("model") not in self.models:
            return 404, f"The model `{body.get('model')}` does not exist or you do not have access to it."
        if body.get("stream"):
            return 400, "The sandbox does not stream."
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "'messages' must be a non-empty array."
        for n, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return 400, f"Invalid value for 'messages[{n}].role'."
            if not isinstance(message.get("content"), str) and not message.get("tool_calls"):
                return 400, f"Invalid type for 'messages[{n}].content': expected a string."
        for n, tool in enumerate(body.get("tools") or []):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not function.get("name") or tool.get("type") != "function":
                return 400, f"Invalid value for 'tools[{n}]'."
        return 200, None

    async def _hold(self, delay: float | None) -> None:
        if self._stopping:
            return
        release = self._release
        self.held += 1
        self._changed()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), delay)
        finally:
            self.held -= 1

    def _completion(self, body: dict[str, Any], scripted: Scripted) -> dict[str, Any]:
        content = scripted.reply if scripted.reply is not None or scripted.tool_call else self.default_reply
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        finish_reason = "stop"
        if scripted.tool_call is not None:
            name, arguments = scripted.tool_call
            message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                                      "function": {"name": name, "arguments": json.dumps(arguments)}}]
            finish_reason = "tool_calls"
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
        completion_tokens = len((content or "").split())
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "system_fingerprint": "fp_sandbox",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def _error(status: int, message: str | None = None) -> web.Response:
    default, kind, code = ERRORS.get(status, ("The server could not answer.", "server_error", None))
    headers = {"Retry-After": "1"} if status == 429 else None
    return web.json_response({"error": {"message": message or default, "type": kind, "param": None,
                                        "code": code}}, status=status, headers=headers)
