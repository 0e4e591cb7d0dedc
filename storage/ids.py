"""What counts as an id people may type: Telegram ids, conversation numbers (stored as 64-bit integers)."""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # PostgreSQL BIGINT and SQLite INTEGER both stop here
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def as_id(text: str) -> int | None:
    """The positive 64-bit integer `text` spells in ASCII digits; None for anything else.

    `str.isdigit()` also accepts "²" and other Unicode digits that `int()` refuses, and `int()` accepts
    numbers no column can hold: both used to end in an exception instead of an answer."""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def looks_numeric(text: str) -> bool:
    """Meant as a number (any digits, any length), whether or not it is a valid id."""
    return bool(text) and all(c.isdigit() for c in text)
