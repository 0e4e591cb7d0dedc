"""Escalation rules: does this customer message call for a human? Pure functions, table-tested."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.core.settings import EscalationSettings


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s/]", " ", text).split())


def escalation_reason(text: str, earlier_customer_texts: Sequence[str], rules: EscalationSettings) -> str | None:
    """Why this message needs a human, or None. `earlier_customer_texts` are the customer's previous messages
    in the conversation, oldest first."""
    folded = _fold(text)
    if not folded:
        return None
    command = rules.human_command.casefold()
    if folded.split()[0].split("@")[0] == command:
        return f"the customer asked for a person ({rules.human_command})"
    padded = f" {folded} "
    for phrase in rules.human_phrases:
        if f" {_fold(phrase)} " in padded:
            return f"the customer asked for a person (\u201c{phrase}\u201d)"
    for pattern in rules.keywords:
        if re.search(pattern, text, re.IGNORECASE):
            return f"the message matches the rule {pattern!r}"
    repeats = rules.repeated_question - 1
    recent = [_fold(t) for t in earlier_customer_texts[-repeats:]] if repeats else []
    if len(recent) == repeats and len(folded) > 8 and all(r == folded for r in recent):
        return "the customer keeps asking the same question"
    return None
