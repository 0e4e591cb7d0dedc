"""Slack's size limits for Block Kit text, and cutting long mrkdwn into pieces that fit without losing any.

A section's text holds 3,000 characters and a message 50 blocks; Slack may refuse a message whose blocks
carry much more than about 12,000 characters in all (msg_blocks_too_long), so posts stay under that.
"""

from __future__ import annotations

from typing import Any

SECTION_LIMIT = 3_000
MAX_BLOCKS = 50
BLOCKS_TEXT_BUDGET = 12_000
TEXT_LIMIT = 40_000  # chat.postMessage's text; Slack truncates beyond it
_ENTITY_LONGEST = 8  # "&amp;", "&lt;", "&gt;" and friends: never cut inside one


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters whose concatenation is `text`, cut after a paragraph, line or
    word where there is one in the second half, and never inside a Slack entity (<…>, &amp;)."""
    pieces = []
    while len(text) > limit:
        cut = _cut(text, limit)
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def _cut(text: str, limit: int) -> int:
    window = text[:limit]
    cut = limit
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at >= limit // 2:
            cut = at + len(separator)
            break
    opened, closed = window.rfind("<", 0, cut), window.rfind(">", 0, cut)
    if opened > closed and opened > 0:
        cut = opened  # a link or mention stays whole
    amp = window.rfind("&", max(0, cut - _ENTITY_LONGEST), cut)
    if amp > 0 and ";" not in window[amp:cut]:
        cut = amp
    return cut


def sections(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece or " "}} for piece in split_text(text)]


def fallback(text: str, limit: int = 3_900) -> str:
    """The notification text of a post whose blocks carry the whole of `text`."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
