"""The core's agent port: the interface every agent backend implements (a conversation in, a reply out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Author = Literal["customer", "agent", "operator", "system"]


@dataclass(frozen=True)
class AgentTurn:
    """One message of the conversation as the agent sees it."""

    author: Author
    text: str
    at: datetime | None = None


@dataclass(frozen=True)
class CustomerProfile:
    name: str
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class AgentRequest:
    """Everything an agent may use to answer: recent turns (oldest first) and any hand-back brief."""

    conversation_id: int
    customer: CustomerProfile
    history: list[AgentTurn] = field(default_factory=list)
    brief: str | None = None

    @property
    def last_customer_text(self) -> str:
        for turn in reversed(self.history):
            if turn.author == "customer":
                return turn.text
        return ""


@dataclass(frozen=True)
class Choice:
    """One answer the customer may pick when the agent is unsure which entry they mean."""

    label: str  # what the button says
    key: str  # what the agent is given back when it is picked


@dataclass(frozen=True)
class AgentReply:
    """What the agent wants to do.

    `text` goes to the customer (None: say nothing). `handoff_reason` set means a human is needed;
    the text, if any, is then the holding message the customer sees while waiting. `context` is one line
    for the team (the entry used and the confidence), shown under the answer in the thread; `entry`
    names the knowledge-base entry the answer came from. `choices` (with a handoff reason) are entries
    the customer may pick from.
    """

    text: str | None
    confidence: float = 1.0
    handoff_reason: str | None = None
    context: str | None = None
    entry: str | None = None
    choices: list[Choice] = field(default_factory=list)


class AgentError(Exception):
    """An agent could not answer. Its message is written for operators (what failed, never a secret):
    the agent worker shows it in the conversation's "needs a human" note."""


class Agent(Protocol):
    async def reply(self, request: AgentRequest) -> AgentReply: ...
