"""Outbox kinds: each one's destination and the typed payload its row carries, in one registry.

A kind is still the plain string stored in the row's `kind` column (`Kind` subclasses `str`), so code that
compares, stores or logs kinds keeps working unchanged; what the kind means travels with the name:
`kind.destination` and `kind.payload`, the frozen dataclass whose fields are the keys of the row's payload
JSON. The JSON itself did not change when the types came, so rows written before them parse as they are.

Parsing happens once, when the dispatcher claims the row (bot/core/claim.py). It is tolerant of what
upgrades leave behind and strict about what no writer ever produced:
- unknown keys are ignored: a retry's progress (`chunks_sent`) is merged into whatever row it was, and an
  instance in the middle of a rolling upgrade may read a row that a newer one wrote;
- a field with a default may be missing (older rows; `encode` leaves defaults out);
- a required field that is missing or of the wrong type makes the payload malformed: `MalformedPayload`
  names the row, and the dispatcher fails that row (dead letter, logged) rather than retrying a KeyError
  for ever.
Kinds that carry the same thing share a payload type (`Bare` for the rows that only name their conversation
and message), so a type says what a row holds rather than repeating the kind's name.

Rows are written with `enqueue` (typed) or `enqueue_fields` (keyword fields checked against the kind's
type), so the core cannot emit a kind the registry does not know.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.models import OutboxItem

TELEGRAM, SLACK, AGENT = "telegram", "slack", "agent"

P = TypeVar("P")


class Kind(str, Generic[P]):
    """An outbox kind: the string stored in the row, with its destination and payload type."""

    destination: str
    payload: type[P]

    def __new__(cls, name: str, destination: str, payload: type[P]) -> Kind[P]:
        kind = super().__new__(cls, name)
        kind.destination, kind.payload = destination, payload
        return kind


# --- payloads: the fields are the JSON keys --------------------------------------------------------------

@dataclass(frozen=True)
class Bare:
    """Nothing beyond the row's conversation and message."""


@dataclass(frozen=True)
class Note:
    """A line in the thread: `note` names a kind of bot.core.notes and `fields` hold its facts, raw; the Slack
    adapter words it. Rows written before the notes were typed carry `text` instead, mrkdwn already escaped."""

    note: str | None = None
    fields: dict[str, object] = dataclasses.field(default_factory=dict)
    text: str | None = None
    alert: bool = False  # written by the needs-a-human note

    def __post_init__(self) -> None:
        if self.note is None and self.text is None:
            raise ValueError("neither 'note' nor 'text' is given")


@dataclass(frozen=True)
class Reaction:
    ts: str  # the message in the thread to react to
    name: str  # the emoji's name


@dataclass(frozen=True)
class AlertRef:
    alert_id: int


@dataclass(frozen=True)
class CampaignRef:
    campaign_id: int


@dataclass(frozen=True)
class CampaignSendRef:
    """A campaign's message to one recipient."""

    campaign_id: int
    recipient_id: int


@dataclass(frozen=True)
class Chunked:
    """A stored message sent to the customer; a retry resumes after the chunks that already went out."""

    chunks_sent: int = 0


@dataclass(frozen=True)
class Notice:
    text: str  # plain text, escaped when sent
    chunks_sent: int = 0


@dataclass(frozen=True)
class Rating:
    text: str  # the question above the 1–5 buttons


@dataclass(frozen=True)
class Choices:
    choices: tuple[str, ...]  # a button each
    person: str  # the label of the talk-to-a-person button


@dataclass(frozen=True)
class Edit:
    html: str | None = None  # None: the message's current text
    previous_html: str = ""


@dataclass(frozen=True)
class Correction:
    html: str | None = None  # None: the message's current text
    why: str | None = None  # why the reply could not be edited in place


# --- the kinds ------------------------------------------------------------------------------------------

# To Slack: the thread's card, what happens in the thread, alerts, campaigns' messages.
OPEN_THREAD = Kind("open_thread", SLACK, Bare)
MIRROR = Kind("mirror", SLACK, Bare)
UPDATE_CARD = Kind("update_card", SLACK, Bare)
NOTE = Kind("note", SLACK, Note)
REACT = Kind("react", SLACK, Reaction)
EDIT_MIRROR = Kind("edit_mirror", SLACK, Bare)  # the mirror of a message its author edited, updated in place
ALERT = Kind("alert", SLACK, AlertRef)
UPDATE_ALERT = Kind("update_alert", SLACK, AlertRef)
CAMPAIGN_POST = Kind("campaign_post", SLACK, CampaignRef)
CAMPAIGN_UPDATE = Kind("campaign_update", SLACK, CampaignRef)
# To the customer on Telegram.
DELIVER = Kind("deliver", TELEGRAM, Chunked)  # an operator's message
DELIVER_AGENT = Kind("deliver_agent", TELEGRAM, Chunked)
NOTICE = Kind("notice", TELEGRAM, Notice)
RATING = Kind("rating", TELEGRAM, Rating)  # the CSAT question with its 1–5 buttons
CHOICES = Kind("choices", TELEGRAM, Choices)  # the agent's "which of these do you mean?"
EDIT = Kind("edit", TELEGRAM, Edit)
DELETE = Kind("delete", TELEGRAM, Bare)
CORRECTION = Kind("correction", TELEGRAM, Correction)  # an edit Telegram refused, said anew
CAMPAIGN_SEND = Kind("campaign_send", TELEGRAM, CampaignSendRef)  # in the recipient's lane
# To the agent.
ASK = Kind("ask", AGENT, Bare)

KINDS: Mapping[str, Kind[Any]] = {kind: kind for kind in (
    OPEN_THREAD, MIRROR, UPDATE_CARD, NOTE, REACT, EDIT_MIRROR, ALERT, UPDATE_ALERT, CAMPAIGN_POST, CAMPAIGN_UPDATE,
    DELIVER, DELIVER_AGENT, NOTICE, RATING, CHOICES, EDIT, DELETE, CORRECTION, CAMPAIGN_SEND, ASK)}


def kinds_for(destination: str) -> frozenset[str]:
    return frozenset(kind for kind in KINDS.values() if kind.destination == destination)


# --- writing ----------------------------------------------------------------------------------------------

def enqueue(session: AsyncSession, kind: Kind[P], payload: P, *, lane: str, now: datetime,
            conversation_id: int | None = None, message_id: int | None = None) -> None:
    if KINDS.get(kind) is not kind or not isinstance(payload, kind.payload):
        raise TypeError(f"outbox kind {kind!r} carries {kind.payload.__name__}, not {type(payload).__name__}")
    outbox.enqueue(session, destination=kind.destination, lane=lane, kind=str(kind),
                   conversation_id=conversation_id, message_id=message_id, payload=encode(payload), now=now)


def enqueue_fields(session: AsyncSession, kind: str, *, lane: str, now: datetime, conversation_id: int | None = None,
                   message_id: int | None = None, **fields: Any) -> None:
    """`enqueue` with the payload's fields as keywords (a wrong or missing field is a TypeError here)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown outbox kind {kind!r}")
    enqueue(session, spec, spec.payload(**fields), lane=lane, now=now, conversation_id=conversation_id,
            message_id=message_id)


def encode(payload: object) -> dict[str, Any]:
    """The payload as the row stores it: fields at their default are left out (as before the types)."""
    body: dict[str, Any] = {}
    for field in dataclasses.fields(payload):  # type: ignore[arg-type]
        value = getattr(payload, field.name)
        if field.default is not dataclasses.MISSING and value == field.default:
            continue
        if field.default_factory is not dataclasses.MISSING and value == field.default_factory():
            continue
        body[field.name] = list(value) if isinstance(value, tuple) else value
    return body


# --- reading ----------------------------------------------------------------------------------------------

class MalformedPayload(ValueError):
    """A row whose payload its kind's type cannot read; the message names the row."""

    def __init__(self, item: OutboxItem, why: str) -> None:
        super().__init__(f"outbox {item.id} ({item.destination}/{item.kind}): malformed payload: {why}")


class UnknownKind(ValueError):
    def __init__(self, item: OutboxItem, why: str) -> None:
        super().__init__(f"outbox {item.id} ({item.destination}/{item.kind}): {why}")


def kind_of(item: OutboxItem) -> Kind[Any]:
    kind = KINDS.get(item.kind)
    if kind is None:
        raise UnknownKind(item, "unknown outbox kind")
    if kind.destination != item.destination:
        raise UnknownKind(item, f"the kind belongs to destination {kind.destination!r}")
    return kind


def parse(item: OutboxItem, kind: Kind[P]) -> P:
    try:
        data = json.loads(item.payload or "{}")
    except ValueError as exc:
        raise MalformedPayload(item, f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MalformedPayload(item, f"a JSON {type(data).__name__}, not an object")
    try:
        return kind.payload(**typed_fields(kind.payload, data))
    except ValueError as exc:
        raise MalformedPayload(item, str(exc)) from None


def typed_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of dataclass `cls` read from JSON `data` (see the module's docstring for what is
    tolerated); ValueError says which field is wrong."""
    values: dict[str, Any] = {}
    for name, hint, required in _fields(cls):
        if name not in data:
            if required:
                raise ValueError(f"{name!r} is missing")
            continue
        ok, value = _typed(data[name], hint)
        if not ok:
            raise ValueError(f"{name!r} is {data[name]!r}, not {_name(hint)}")
        values[name] = value
    return values


_FIELDS: dict[type, list[tuple[str, Any, bool]]] = {}


def _fields(cls: type) -> list[tuple[str, Any, bool]]:
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        _FIELDS[cls] = [(f.name, hints[f.name],
                         f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                        for f in dataclasses.fields(cls)]
    return _FIELDS[cls]


def _typed(value: Any, hint: Any) -> tuple[bool, Any]:
    """(whether `value` fits `hint`, the value as the dataclass holds it). Covers the payloads' field types."""
    if hint is object:
        return True, value
    if hint is type(None):
        return value is None, value
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool), value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is str:
        return isinstance(value, str), value
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            ok, typed = _typed(value, option)
            if ok:
                return True, typed
        return False, value
    if origin is tuple:
        item_hint = get_args(hint)[0]
        if not isinstance(value, list):
            return False, value
        items = [_typed(v, item_hint) for v in value]
        return all(ok for ok, _ in items), tuple(v for _, v in items)
    if origin is dict:
        value_hint = get_args(hint)[1]
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            return False, value
        entries = {key: _typed(v, value_hint) for key, v in value.items()}
        return all(ok for ok, _ in entries.values()), {key: v for key, (_, v) in entries.items()}
    raise TypeError(f"payload field type {hint!r} is not supported")


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)
