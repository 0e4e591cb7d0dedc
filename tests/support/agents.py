"""Agents for tests: scripted answers and a gate that holds a reply until the test releases it."""

from __future__ import annotations

import asyncio

from bot.agent.base import AgentReply, AgentRequest


class ScriptedAgent:
    """Answers from a dict of lower-case substrings; anything else asks for a human."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {"shipping": "Shipping takes 2-3 business days."}
        self.requests: list[AgentRequest] = []

    async def reply(self, request: AgentRequest) -> AgentReply:
        self.requests.append(request)
        question = request.last_customer_text.lower()
        for needle, answer in self.answers.items():
            if needle in question:
                return AgentReply(answer, 0.9)
        return AgentReply("Let me check that with a colleague.", 0.1, "no confident answer")


class GatedAgent(ScriptedAgent):
    """Like ScriptedAgent, but each reply waits until `release()`: a reply still being produced."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        super().__init__(answers)
        self.called = asyncio.Event()
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def reply(self, request: AgentRequest) -> AgentReply:
        self.called.set()
        await self._gate.wait()
        return await super().reply(request)


class EchoAgent:
    """Answers every question with its own text; built from settings like a third-party backend."""

    def __init__(self, settings: object = None) -> None:
        self.settings = settings

    async def reply(self, request: AgentRequest) -> AgentReply:
        return AgentReply(f"echo: {request.last_customer_text}", 1.0)
