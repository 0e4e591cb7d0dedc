"""What the core says in a conversation's Slack thread, as typed facts: one dataclass per kind of note.

The core decides that a note is due and what it is about (who took over, why a human is needed, how long the
customer waited); it does not word it. Each note carries its facts raw and unescaped (names, reasons, minutes,
entry titles), and the Slack adapter renders it (operator_bridge/notes_out.py), escaping every outside string
there. A NOTE outbox row stores `note` (the kind's name) and `fields` (the dataclass's fields); `decode` turns
the row's payload back into the dataclass when it is delivered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from bot.core.outbox_kinds import Note, typed_fields


@dataclass(frozen=True)
class ThreadNote:
    kind: ClassVar[str]
    alert: ClassVar[bool] = False  # the note that goes with an alert (the needs-a-human one)


@dataclass(frozen=True)
class TakenOver(ThreadNote):
    kind = "taken_over"
    operator: str


@dataclass(frozen=True)
class HandedBack(ThreadNote):
    kind = "handed_back"
    operator: str


@dataclass(frozen=True)
class Resolved(ThreadNote):
    kind = "resolved"
    operator: str


@dataclass(frozen=True)
class NeedsHuman(ThreadNote):
    kind = "needs_human"
    alert = True
    reason: str | None = None  # a model's or a rule's words; None: the agent asked


@dataclass(frozen=True)
class CustomerWaiting(ThreadNote):
    """The customer has waited too long for a reply (the timer's alert)."""

    kind = "customer_waiting"
    waited_minutes: int
    owner: str | None = None  # the owner they wait for; None: no one owns the conversation yet


@dataclass(frozen=True)
class OwnerSilent(ThreadNote):
    """The owner has not replied for a while: the conversation goes back to the agent soon."""

    kind = "owner_silent"
    owner_slack_user_id: str | None
    silent_minutes: float
    minutes_left: float


@dataclass(frozen=True)
class NotDeleted(ThreadNote):
    """An operator deleted their reply in the thread, but the customer's copy could not be deleted."""

    kind = "not_deleted"
    author: str
    why: str


@dataclass(frozen=True)
class NotDelivered(ThreadNote):
    kind = "not_delivered"
    reason: str


@dataclass(frozen=True)
class SentAsCorrection(ThreadNote):
    """An edit Telegram refused went to the customer as a new message."""

    kind = "sent_as_correction"
    why: str


@dataclass(frozen=True)
class Rated(ThreadNote):
    kind = "rated"
    rating: int  # 1–5


@dataclass(frozen=True)
class ChoicesOffered(ThreadNote):
    """The agent asked the customer which of these they meant (a button each, and one for a person)."""

    kind = "choices_offered"
    labels: tuple[str, ...]
    person: str
    context: str | None = None


@dataclass(frozen=True)
class ChoicePicked(ThreadNote):
    kind = "choice_picked"


@dataclass(frozen=True)
class BlockedTheBot(ThreadNote):
    kind = "blocked_the_bot"
    customer: str


@dataclass(frozen=True)
class UnblockedTheBot(ThreadNote):
    kind = "unblocked_the_bot"
    customer: str


@dataclass(frozen=True)
class AgentContext(ThreadNote):
    """Under the agent's answer: where it came from and how sure it was."""

    kind = "agent_context"
    context: str


@dataclass(frozen=True)
class Brief(ThreadNote):
    """What the agent is told of the human part of the conversation when it is handed back."""

    kind = "brief"
    brief: str


NOTES: dict[str, type[ThreadNote]] = {cls.kind: cls for cls in (
    TakenOver, HandedBack, Resolved, NeedsHuman, CustomerWaiting, OwnerSilent, NotDeleted, NotDelivered,
    SentAsCorrection, Rated, ChoicesOffered, ChoicePicked, BlockedTheBot, UnblockedTheBot, AgentContext, Brief)}


def encode(note: ThreadNote) -> Note:
    """The NOTE outbox payload for `note`."""
    if NOTES.get(note.kind) is not type(note):
        raise TypeError(f"{type(note).__name__} is not a registered thread note")
    fields: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(note).items()}
    return Note(note=note.kind, fields=fields, alert=note.alert)


def decode(payload: Note) -> ThreadNote:
    """The typed note a NOTE row of this release carries; ValueError says what is wrong with it."""
    cls = NOTES.get(payload.note or "")
    if cls is None:
        raise ValueError(f"unknown thread note {payload.note!r}")
    return cls(**typed_fields(cls, payload.fields))
