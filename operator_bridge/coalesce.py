"""Folding a thread's backlog of mirror messages into one post when the channel is at Slack's limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import effects as fx
from bot.core.handles import Database
from bot.core.queries import waiting_mirrors as _waiting
from bot.core.text import quote
from operator_bridge.long_text import BLOCKS_TEXT_BUDGET, MAX_BLOCKS, fallback, sections
from storage.models import Customer, Message, OutboxItem

MAX_BATCH = 10


async def waiting_mirrors(db: Database, item: OutboxItem, limit: int = MAX_BATCH - 1
                          ) -> list[tuple[Message, OutboxItem]]:
    """The mirror rows queued right behind `item` in its lane (stops at the first other kind)."""
    return await _waiting(db, item, fx.SLACK, fx.MIRROR, limit)


def combined_post(entries: list[tuple[Message, OutboxItem]], author: Callable[[Message, Customer], tuple[str, str]],
                  render: Callable[[Message], str], customer: Customer) -> tuple[str, list[dict[str, Any]], int]:
    """One post, in order, each entry under its author's name, its text whole (in as many sections as it
    needs): as many entries as fit in one message. The count says how many; 0 when the first alone does
    not fit (it is then posted on its own, as text)."""
    body: list[dict[str, Any]] = []
    lines: list[str] = []
    used = 0
    for message, _row in entries:
        name, icon = author(message, customer)
        name = quote(name)
        header = f"{icon} *{name}*"
        text = render(message) or " "
        added = [{"type": "context", "elements": [{"type": "mrkdwn", "text": header}]}, *sections(text)]
        if len(body) + len(added) > MAX_BLOCKS or used + len(header) + len(text) > BLOCKS_TEXT_BUDGET:
            break
        body += added
        used += len(header) + len(text)
        lines.append(f"{name}: {text}")
    return fallback("\n".join(lines)), body, len(lines)
