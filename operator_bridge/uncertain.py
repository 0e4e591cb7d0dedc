"""Slack posts whose outcome is unknown: the attempt may have landed although no answer said so."""

from __future__ import annotations

from bot.core.handles import IN_FLIGHT
from storage.models import OutboxItem

# How a retry reason starts after a timeout, a connection lost after sending, or a 5xx; a crash leaves
# IN_FLIGHT. The next attempt then looks for the row's outbox id in the channel before posting.
UNCERTAIN = "outcome unknown: "


def maybe_posted(item: OutboxItem) -> bool:
    """Whether the row's last attempt may have posted (then its outbox id is looked up before posting)."""
    last = item.last_error or ""
    return last == IN_FLIGHT or last.startswith((UNCERTAIN, "unexpected error"))
