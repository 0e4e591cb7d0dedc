"""Folding a thread's backlog of mirror messages into one post when the channel is at Slack's limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import effects as fx
from bot.core.text import quote
from storage import messages, outbox
from storage.db import Database
from storage.models import Customer, Message, OutboxItem

MAX_BATCH = 10
# Section text is limited to 3,000 characters; leave room for the author line.
_MAX_SECTION = 2800


async def waiting_mirrors(db: Database, item: OutboxItem, limit: int = MAX_BATCH - 1
                          ) -> list[tuple[Message, OutboxItem]]:
    """The mirror rows queued right behind `item` in its lane (stops at the first other kind)."""
    async with db.transaction() as session:
        rows = await outbox.find_pending_after(session, fx.SLACK, item.lane, item.id or 0, limit=limit)
        batch = []
        for row in rows:
            if row.kind != fx.MIRROR or row.message_id is None:
                break
            message = await messages.get(session, row.message_id)
            if message is None or message.tg_file_id:
                break  # files are uploaded on their own
            batch.append((message, row))
    return batch


def combined_post(entries: list[tuple[Message, OutboxItem]], author: Callable[[Message, Customer], tuple[str, str]],
                  to_mrkdwn: Callable[[str], str], customer: Customer) -> tuple[str, list[dict[str, Any]]]:
    """One post, in order, each entry under its author's name."""
    body: list[dict[str, Any]] = []
    lines = []
    for message, _row in entries:
        name, icon = author(message, customer)
        text = to_mrkdwn(message.html) if message.html else quote(message.text)
        name = quote(name)
        if len(text) > _MAX_SECTION:
            text = text[:_MAX_SECTION] + "…"
        body.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{icon} *{name}*"}]})
        body.append({"type": "section", "text": {"type": "mrkdwn", "text": text or " "}})
        lines.append(f"{name}: {text}")
    return "\n".join(lines)[:3900], body[:50]
