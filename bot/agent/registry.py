"""Choosing the agent backend from `[agent] backend`: a built-in name or a dotted path."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bot.agent.base import Agent
from bot.config import AgentSettings, TextSettings

if TYPE_CHECKING:
    from bot.agent.faq import FaqAgent


class AgentConfigError(ValueError):
    pass


def build_faq_agent(settings: AgentSettings, texts: TextSettings | None = None,
                    *, background: bool = True) -> FaqAgent:
    """The built-in agent from `[agent]`; raises AgentConfigError naming the setting at fault."""
    from bot.agent.embedding import EmbeddingError
    from bot.agent.faq import FaqAgent, KnowledgeBaseError
    from bot.agent.retrieval import Thresholds

    notes = {lang: t.untranslated_answer for lang, t in (texts.languages if texts else {}).items()
             if t.untranslated_answer}
    try:
        return FaqAgent(settings.knowledge_base, embedding_model=settings.embedding_model,
                        thresholds=Thresholds(settings.answer_threshold, settings.answer_threshold_alone,
                                              settings.answer_margin),
                        threshold=settings.threshold, untranslated_notes=notes,
                        index_cache=settings.index_cache, background=background)
    except KnowledgeBaseError as exc:
        raise AgentConfigError(f"agent.knowledge_base: {exc}") from None
    except EmbeddingError as exc:
        raise AgentConfigError(f"agent.embedding_model: {exc}") from None


def check_agent(settings: AgentSettings, texts: TextSettings | None = None) -> None:
    """What `check-config` and start-up check: the knowledge base reads cleanly (errors name the line) and
    the embedding model loads. The built-in agents are not indexed here (the app does that in the
    background); other backends are built."""
    if settings.backend not in ("faq", "openai"):
        build_agent(settings, texts)
        return
    from bot.agent.embedding import EmbeddingError, load_embedder
    from bot.agent.knowledge import KnowledgeBaseError, read_knowledge_file

    try:
        read_knowledge_file(settings.knowledge_base)
    except KnowledgeBaseError as exc:
        raise AgentConfigError(f"agent.knowledge_base: {exc}") from None
    try:
        load_embedder(settings.embedding_model)
    except EmbeddingError as exc:
        raise AgentConfigError(f"agent.embedding_model: {exc}") from None


def build_agent(settings: AgentSettings, texts: TextSettings | None = None) -> Agent:
    if settings.backend == "faq":
        return build_faq_agent(settings, texts)
    if settings.backend == "openai":
        from bot.agent.llm import OpenAIAgent

        return OpenAIAgent(build_faq_agent(settings, texts), **OpenAIAgent.options(settings))
    module_name, _, attr = settings.backend.partition(":")
    if not attr:
        raise AgentConfigError(f"agent.backend {settings.backend!r}: "
                               "use \"faq\", \"openai\" or \"package.module:ClassName\"")
    try:
        factory: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AgentConfigError(f"agent.backend {settings.backend!r} cannot be loaded: {exc}") from None
    return factory(settings)  # type: ignore[no-any-return]
