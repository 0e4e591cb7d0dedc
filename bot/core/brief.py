"""The hand-back brief: what happened while a human had the conversation, for the agent taking it back."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.states import Kind, Mode
from storage import audit, messages
from storage.models import Conversation, Message

# Short on purpose: the brief sits in every prompt until the next takeover, next to the history.
MAX_MESSAGES = 10
MAX_CHARS_PER_MESSAGE = 300


async def handback_brief(session: AsyncSession, conv: Conversation) -> str | None:
    """The customer's and the operators' messages of the last human stretch, or None when the agent was
    not handed the conversation back (never taken over, or taken over again since)."""
    if conv.id is None or conv.mode != Mode.AGENT.value:
        return None
    if conv.mode_since <= conv.opened_at:
        return None  # its mode never changed since it opened: never taken over (no need to read the audit trail)
    changes = [entry.action for entry in await audit.find_for_conversation(session, conv.id)
               if entry.action in (Kind.TAKEOVER.value, Kind.HANDBACK.value)]
    if not changes or changes[-1] != Kind.HANDBACK.value:
        return None
    # The stretch runs from the agent's last reply (the agent is silent while a human owns the conversation)
    # to the hand back, whose time is `mode_since`. Starting at the agent's last reply rather than at the
    # takeover also keeps what the customer wrote while waiting for a human, and a note sent with
    # "Take over and send": both are part of what the human dealt with. Times are compared only with
    # times from the same clock (the service's), never with the audit trail's.
    stretch = await messages.find_since_last_agent_reply(session, conv.id, until=conv.mode_since,
                                                         limit=MAX_MESSAGES + 1)
    return format_brief(stretch)


def format_brief(stretch: Sequence[Message]) -> str | None:
    """One line per message, oldest first: "Customer: …" / "Alice Smith (operator): …"."""
    # A message its author deleted afterwards (where messages carry `deleted_at`) is no longer part of the story.
    lines = [f"{_who(m)}: {_clip(m.text)}" for m in stretch
             if m.author in ("customer", "operator") and m.text and getattr(m, "deleted_at", None) is None]
    if not lines:
        return None
    if len(lines) > MAX_MESSAGES:
        lines = ["(earlier messages left out)", *lines[-MAX_MESSAGES:]]
    return "\n".join(lines)


def _who(message: Message) -> str:
    if message.author == "customer":
        return "Customer"
    return f"{message.author_name} (operator)" if message.author_name else "Operator"


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_CHARS_PER_MESSAGE else flat[:MAX_CHARS_PER_MESSAGE - 1].rstrip() + "…"
