"""A conversation's transcript as plain text or JSON: used by the card's Export button and `baton export`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import conversations, customers, history
from storage.db import Database
from storage.models import Conversation, Customer, Message


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    customer: Customer
    messages: list[Message]


def _who(message: Message, customer: Customer) -> str:
    if message.author == "customer":
        return customer.display_name
    if message.author == "agent":
        return "Agent"
    name = message.author_name or message.author
    return f"{name} (internal note)" if message.is_note else name


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def as_dict(t: Transcript) -> dict[str, Any]:
    c, conv = t.customer, t.conversation
    return {
        "conversation_id": conv.id, "mode": conv.mode, "opened_at": _iso(conv.opened_at),
        "closed_at": _iso(conv.closed_at), "owner": conv.owner_name, "csat_rating": conv.csat_rating,
        "csat_comment": conv.csat_comment,
        "customer": {"name": c.display_name, "username": c.username, "tg_user_id": c.tg_user_id,
                     "language": c.language},
        "messages": [{"at": _iso(m.created_at), "author": m.author, "name": _who(m, c), "internal_note": m.is_note,
                      "kind": m.kind, "text": m.text, "edited_at": _iso(m.edited_at)}
                     for m in t.messages if m.deleted_at is None],
    }


def as_json(transcripts: list[Transcript]) -> str:
    return json.dumps([as_dict(t) for t in transcripts], ensure_ascii=False, indent=2)


def as_text(transcripts: list[Transcript]) -> str:
    parts = []
    for t in transcripts:
        conv, c = t.conversation, t.customer
        head = [f"Conversation #{conv.id} with {c.display_name}" + (f" (@{c.username})" if c.username else ""),
                f"Opened {conv.opened_at:%Y-%m-%d %H:%M} UTC" + (f", closed {conv.closed_at:%Y-%m-%d %H:%M} UTC"
                                                                 if conv.closed_at else f", now {conv.mode}")]
        if conv.csat_rating:
            head.append(f"CSAT {conv.csat_rating}/5" + (f": {conv.csat_comment}" if conv.csat_comment else ""))
        lines = [f"[{m.created_at:%Y-%m-%d %H:%M}] {_who(m, c)}: {m.text}" for m in t.messages if m.deleted_at is None]
        parts.append("\n".join([*head, "", *lines]))
    return "\n\n".join(parts) + "\n"


async def load(session: AsyncSession, conversation_ids: list[int]) -> list[Transcript]:
    found = []
    for conversation_id in conversation_ids:
        conv = await conversations.get(session, conversation_id)
        customer = await customers.get(session, conv.customer_id) if conv else None
        if conv is not None and customer is not None:
            found.append(Transcript(conv, customer, list(await history.messages_of(session, conversation_id))))
    return found


async def load_for_export(db: Database, conversation_id: int) -> tuple[Conversation | None, list[Transcript]]:
    """The conversation and its transcript for the card's Export button (a read: the export's audit row is the
    TranscriptExported event's)."""
    async with db.transaction() as session:
        conv = await conversations.get(session, conversation_id)
        found = await load(session, [conversation_id]) if conv else []
    return conv, found
