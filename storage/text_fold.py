"""Text as search compares it: Unicode case folding and no diacritics ("Привет" ~ "привет", "Café" ~ "cafe").

Folding happens in Python, when a row is written and when a query is made, so both databases compare
the same folded text whatever their locale (SQLite's lower() folds ASCII only; PostgreSQL's follows
the server's locale, and neither removes accents without an extension).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")  # letters and digits, as both indexes split words


def fold(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def searchable(text: str | None) -> str:
    """What message.search_text holds: the folded words, one space apart (so "a word starts with T" is a
    plain substring test of " T" in " " + search_text)."""
    return " ".join(_WORD.findall(fold(text)))


def search_terms(query: str, *, limit: int = 16) -> list[str]:
    """The words of a query, folded: each must start a word of a matching message."""
    return _WORD.findall(fold(query))[:limit]
