"""The agent interface, owned by the core (bot.core.agent_port); re-exported here for the backends."""

from __future__ import annotations

from bot.core.agent_port import (
    Agent,
    AgentError,
    AgentReply,
    AgentRequest,
    AgentTurn,
    Author,
    Choice,
    CustomerProfile,
)

__all__ = ["Agent", "AgentError", "AgentReply", "AgentRequest", "AgentTurn", "Author", "Choice", "CustomerProfile"]
