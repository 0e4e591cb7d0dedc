"""The `openai` backend: a language model behind any OpenAI-compatible chat-completions server (OpenAI,
Ollama, vLLM, LM Studio), grounded in the same knowledge base and retriever as the FAQ agent."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import openai
from openai import AsyncOpenAI

from bot.agent.base import AgentError, AgentReply, AgentRequest, AgentTurn
from bot.agent.faq import DEFAULT_HOLDING_MESSAGE, FaqAgent, Match, markdown_to_html
from bot.config import AgentSettings

log = logging.getLogger(__name__)

HANDOFF_TOOL = "handoff_to_human"
# Marks operators' messages in the history: the model sees them as its own side of the conversation
# (so it does not contradict them) yet knows a person wrote them.
OPERATOR_MARK = "[Team member]"
ANSWER_CONFIDENCE = 0.8
# The OpenAI client wants some key; local servers ignore the header.
_NO_KEY = "no-key"
# Reasoning models served by Ollama or vLLM may put their thinking in the answer itself.
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)

DEFAULT_SYSTEM_PROMPT = f"""\
You are the customer-support assistant of a business, chatting with its customers on Telegram.
- Answer only from the knowledge-base entries you are given. Never invent facts, prices, dates, \
policies, links or promises.
- If the entries do not answer the question, or you are unsure, call {HANDOFF_TOOL} instead of guessing.
- Also call {HANDOFF_TOOL} when the customer asks for a person, wants a refund or makes a complaint.
- Be brief and friendly: a few short sentences, no preamble. Simple Markdown (bold, lists, links) is fine.
- Always answer in the language the customer writes in.
- Messages starting with {OPERATOR_MARK} were written by a person from the team: never contradict them, \
and never start your own messages with that mark.
- When you call {HANDOFF_TOOL}, pass a short message telling the customer, in their language, that a \
colleague will reply here shortly.
- End every answer with a last line naming the entry you used, like [entry 3] (the team sees it, the \
customer does not)."""
# The model's closing "[entry 3]" line: which knowledge-base entry it answered from.
_ENTRY_TAG = re.compile(r"\s*\[entry\s*#?(\d+)\]\s*$", re.IGNORECASE)
PASSAGE_SPREAD = 0.05  # meaning scores (cosines) this close to the best entry's count as relevant too
CHARS_PER_TOKEN = 4  # a rough, model-independent estimate for the context budget

TOOLS: list[dict[str, Any]] = [{
    "type": "function",
    "function": {
        "name": HANDOFF_TOOL,
        "description": "Hand the conversation to a human colleague: when the knowledge base does not answer "
                       "the question, when you are unsure, when the customer asks for a person, wants a "
                       "refund or makes a complaint.",
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {"type": "string",
                           "description": "Why a human is needed, in a few English words (shown to the team)."},
                "message": {"type": "string",
                            "description": "A short holding message for the customer, in their language."},
            },
            "required": ["reason"],
        },
    },
}]


class OpenAIAgent:
    """Asks a chat-completions model with the best knowledge-base passages; hands off when it calls the tool."""

    def __init__(self, knowledge: FaqAgent, *, model: str, base_url: str = "https://api.openai.com/v1",
                 api_key: str | None = None, system_prompt: str | None = None, temperature: float = 0.2,
                 max_context_passages: int = 3, timeout: float = 30.0, context_token_budget: int = 6000,
                 holding_message: str = DEFAULT_HOLDING_MESSAGE) -> None:
        self.knowledge = knowledge
        self.model = model
        self.system_prompt = system_prompt or DEFAULT_SYSTEM_PROMPT
        self.temperature = temperature
        self.max_context_passages = max_context_passages
        self.context_token_budget = context_token_budget
        self.timeout = timeout
        self.holding_message = holding_message
        self._api_key = api_key
        # Retries are the agent worker's business (it hands off at once), so the client makes one attempt.
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key or _NO_KEY, timeout=timeout, max_retries=0)
        # How errors name the server: host and port only, never a key or credentials in the URL.
        parts = urlsplit(base_url)
        self._where = f"model {model} at {parts.hostname or base_url}{f':{parts.port}' if parts.port else ''}"

    @staticmethod
    def options(settings: AgentSettings) -> dict[str, Any]:
        if not settings.model:
            raise ValueError('agent.model is required for backend = "openai"')
        return {"model": settings.model, "base_url": settings.base_url, "api_key": settings.api_key,
                "system_prompt": settings.system_prompt, "temperature": settings.temperature,
                "max_context_passages": settings.max_context_passages, "timeout": settings.timeout_seconds,
                "context_token_budget": settings.context_token_budget}

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> OpenAIAgent:
        """Raises KnowledgeBaseError when the knowledge base cannot be read."""
        return cls(FaqAgent(settings.knowledge_base, embedding_model=settings.embedding_model),
                   **cls.options(settings))

    async def aclose(self) -> None:
        await self.client.close()

    # --- the prompt -------------------------------------------------------------------------------

    def passages(self, request: AgentRequest) -> list[Match]:
        """The whole knowledge base when it fits the token budget; else the entries that best match the
        customer's last message, or their last few together (a follow-up like "and to Norway?" only makes
        sense with the question before it). Blocking: call it off the event loop."""
        self.knowledge.wait_until_indexed(30)
        self.knowledge.reload_if_changed()
        everything = [Match(e.title, e.answer, 1.0, e.answer_html) for e in self.knowledge.entries]
        size = sum(len(m.question) + len(m.answer) + 8 for m in everything) / CHARS_PER_TOKEN
        if everything and size <= self.context_token_budget:
            return everything
        questions = [turn.text for turn in request.history if turn.author == "customer" and turn.text.strip()]
        if not questions or self.max_context_passages <= 0:
            return []
        best: dict[str, Match] = {}
        floor = self.knowledge.passage_floor
        for query in dict.fromkeys([questions[-1], " ".join(questions[-3:])]):
            for match in self.knowledge.search(query, limit=self.max_context_passages):
                if match.score > floor and match.score > getattr(best.get(match.question), "score", 0.0):
                    best[match.question] = match
        ranked = sorted(best.values(), key=lambda m: -m.score)
        # Only entries about as good as the best one: a clearly weaker match is noise to the model.
        return [m for m in ranked if m.score >= ranked[0].score - PASSAGE_SPREAD][:self.max_context_passages] \
            if ranked else []

    def context(self, request: AgentRequest, found: list[Match] | None = None) -> str:
        """The second system message: the passages, who the customer is, and the hand-back brief."""
        found = self.passages(request) if found is None else found
        if found:
            parts = ["Knowledge-base entries (your only source of facts):"]
            parts += [f"[{n}] {m.question}\n{m.answer.strip()}" for n, m in enumerate(found, 1)]
        else:
            parts = [f"No knowledge-base entry matches this conversation. If the customer needs information, "
                     f"call {HANDOFF_TOOL}."]
        customer = request.customer
        about = customer.name + (f" (@{customer.username})" if customer.username else "")
        if customer.language:
            about += f", Telegram language setting: {customer.language}"
        parts.append(f"The customer: {about}.")
        if request.brief:
            parts.append("While a human handled the conversation:\n" + request.brief
                         + "\nA human settled this: stay consistent with it.")
        return "\n\n".join(parts)

    def build_messages(self, request: AgentRequest) -> list[dict[str, Any]]:
        return self.prompt(request)[0]

    def prompt(self, request: AgentRequest) -> tuple[list[dict[str, Any]], list[Match]]:
        """The messages, and the entries in them as numbered there. Blocking (retrieval)."""
        found = self.passages(request)
        return [{"role": "system", "content": self.system_prompt},
                {"role": "system", "content": self.context(request, found)},
                *history_messages(request.history)], found

    # --- asking -----------------------------------------------------------------------------------

    async def reply(self, request: AgentRequest) -> AgentReply:
        messages, numbered = await asyncio.to_thread(self.prompt, request)
        try:
            completion = await self.client.chat.completions.create(
                model=self.model, messages=messages, tools=TOOLS,  # type: ignore[arg-type]
                temperature=self.temperature)
        except openai.APITimeoutError:  # before APIConnectionError: it is one
            raise AgentError(f"{self._where} did not answer within {self.timeout:g}s") from None
        except openai.APIStatusError as exc:
            raise AgentError(f"{self._where} answered {exc.status_code}: {self._server_says(exc)}") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise AgentError(f"cannot reach {self._where} ({self._scrub(str(cause) or type(cause).__name__)})") \
                from None
        except openai.OpenAIError as exc:  # e.g. a response that is not a chat completion
            raise AgentError(f"{self._where} gave an unusable response ({type(exc).__name__})") from None
        if not completion.choices:
            raise AgentError(f"{self._where} returned no choices")
        log.debug("conversation %s: %s answered, %s tokens", request.conversation_id, self._where,
                  completion.usage.total_tokens if completion.usage else "?")
        choice = completion.choices[0]
        content = _THINKING.sub("", choice.message.content or "").strip()
        calls = choice.message.tool_calls or []
        if calls:
            return self._handoff(calls[0], content)
        tag = _ENTRY_TAG.search(content)
        entry = None
        if tag:
            content = content[:tag.start()].rstrip()
            number = int(tag[1])
            entry = numbered[number - 1].question if 0 < number <= len(numbered) else None
        text = markdown_to_html(content) if content else ""
        if not text:
            raise AgentError(f"{self._where} returned an empty answer (finish_reason {choice.finish_reason})")
        context = (f"answered from “{entry}” ({self.model})" if entry
                   else f"answered by {self.model}, naming no knowledge-base entry")
        return AgentReply(text=text, confidence=ANSWER_CONFIDENCE, context=context, entry=entry)

    def _handoff(self, call: Any, content: str) -> AgentReply:
        function = getattr(call, "function", None)
        name = getattr(function, "name", None)
        if name != HANDOFF_TOOL:
            raise AgentError(f"{self._where} called an unknown tool {str(name)[:40]!r}")
        try:
            arguments = json.loads(function.arguments or "{}")
        except (TypeError, ValueError):
            arguments = {}  # a garbled call still means "get a human"
        if not isinstance(arguments, dict):
            arguments = {}
        reason = " ".join(str(arguments.get("reason") or "").split())[:200] or "no reason given"
        # The model's own words are in the customer's language; the configured text is the fallback.
        holding = str(arguments.get("message") or "").strip() or content
        text = markdown_to_html(holding) if holding else ""
        return AgentReply(text=text or html.escape(self.holding_message, quote=False), confidence=0.0,
                          handoff_reason=f"the agent asked for a human: {reason}")

    def _server_says(self, exc: openai.APIStatusError) -> str:
        body = exc.body
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") if isinstance(error, dict) else error
        return self._scrub(str(message or exc.response.reason_phrase or "no details"))

    def _scrub(self, text: str) -> str:
        """Short, one line, and without the API key even if a server echoes it back."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        flat = " ".join(text.split())
        return flat if len(flat) <= 200 else flat[:199] + "…"


def history_messages(turns: list[AgentTurn]) -> list[dict[str, Any]]:
    """Customer turns as the user, the agent's and operators' as the assistant (operators' marked), system
    turns left out. Consecutive turns of one side are joined: some chat templates (Mistral's, for one)
    refuse two user or two assistant messages in a row."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        if turn.author == "system" or not turn.text.strip():
            continue
        role = "user" if turn.author == "customer" else "assistant"
        text = f"{OPERATOR_MARK} {turn.text}" if turn.author == "operator" else turn.text
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + text
        else:
            out.append({"role": role, "content": text})
    return out
