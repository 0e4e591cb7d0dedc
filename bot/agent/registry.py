"""Choosing the agent backend from `[agent] backend`: a built-in name or a dotted path."""

from __future__ import annotations

import importlib
from typing import Any

from bot.agent.base import Agent
from bot.config import AgentSettings


class AgentConfigError(ValueError):
    pass


def build_agent(settings: AgentSettings) -> Agent:
    if settings.backend == "faq":
        from bot.agent.faq import FaqAgent, KnowledgeBaseError

        try:
            return FaqAgent(settings.knowledge_base, threshold=settings.threshold)
        except KnowledgeBaseError as exc:
            raise AgentConfigError(f"agent.knowledge_base: {exc}") from None
    if settings.backend == "openai":
        from bot.agent.faq import KnowledgeBaseError
        from bot.agent.llm import OpenAIAgent

        try:
            return OpenAIAgent.from_settings(settings)
        except KnowledgeBaseError as exc:
            raise AgentConfigError(f"agent.knowledge_base: {exc}") from None
    module_name, _, attr = settings.backend.partition(":")
    if not attr:
        raise AgentConfigError(f"agent.backend {settings.backend!r}: "
                               "use \"faq\", \"openai\" or \"package.module:ClassName\"")
    try:
        factory: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AgentConfigError(f"agent.backend {settings.backend!r} cannot be loaded: {exc}") from None
    return factory(settings)  # type: ignore[no-any-return]
