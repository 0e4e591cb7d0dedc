"""The markup tree as Telegram HTML messages: split to Telegram's size, counted in UTF-16 code units as
Telegram counts."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence

from bot.core import markup

MESSAGE_LIMIT = 4096
# Cut preferences, best first; the separator a cut is made at is dropped from both chunks.
_SEPARATORS = (
    re.compile(r"\n(?:[^\S\n]*\n)+"),  # a paragraph break: blank line(s); indentation after it is kept
    re.compile(r"\n"),
    re.compile(r"[^\S\n]+"),
)
# Cutting before one of these would tear a visible character (emoji sequence, accent) in two.
_GRAPHEME_EXTENDERS = re.compile("[\u200d\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
_MAX_BACKOFF = 32


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what Telegram counts for message limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _tears(text: str, cut: int) -> bool:
    before, after = text[cut - 1], text[cut]
    return (before == "\u200d" or bool(_GRAPHEME_EXTENDERS.match(after))
            or unicodedata.category(after).startswith("M"))


def _choose_cut(text: str, units: list[int], start: int, end: int, limit: int) -> tuple[int, int]:
    """Where to end the chunk that starts at `start` and may reach `end`; returns (cut, next start)."""
    floor = units[start] + limit // 2  # a soft cut that leaves a tiny chunk is worse than a hard cut
    for separator in _SEPARATORS:
        best: re.Match[str] | None = None
        for match in separator.finditer(text, start + 1):
            if match.start() > end:
                break
            if units[match.start()] >= floor:
                best = match
        if best is not None:
            return best.start(), best.end()
    cut = end
    while cut > max(start + 1, end - _MAX_BACKOFF) and _tears(text, cut):
        cut -= 1
    return (cut, cut) if not _tears(text, cut) else (end, end)


def split_html(html_text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split stored neutral HTML into Telegram messages: `split_markup` of its tree."""
    return split_markup(markup.parse_html(html_text), limit)


def split_markup(nodes: Sequence[markup.Node], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Telegram HTML chunks of at most `limit` visible UTF-16 code units, each valid on its own.

    Cuts go at the last paragraph break, else line break, else run of spaces that leaves the chunk at
    least half full, else at the limit (not inside a surrogate pair or, where avoidable, a grapheme).
    Each chunk is rendered from the part of the tree it shows, so a tag open at a cut is closed at the end
    of one chunk and opened again at the start of the next, and no cut falls inside a tag or an entity.
    Guarantee: the chunks' visible texts are, in order, non-overlapping pieces of the input's visible
    text, and only whitespace lies between and around them (the separator at each soft cut is dropped;
    a hard cut drops nothing). Chunks with no visible non-whitespace text are not returned, so an
    empty or blank input gives [].
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units (one astral character)")
    text = markup.to_plain(nodes)
    if not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [markup.to_html(nodes)]
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = bisect_right(units, units[start] + limit) - 1
        if end >= len(text):
            cut = resume = len(text)
        else:
            cut, resume = _choose_cut(text, units, start, end, limit)
        if text[start:cut].strip():
            chunks.append(markup.to_html(markup.cut(nodes, start, cut)))
        start = resume
    return chunks
