"""Cutting long mrkdwn for Slack's section limit: nothing lost, nothing broken."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from operator_bridge.long_text import split_text

_TOKENS = st.sampled_from([*"ab <>&;|\n*_", "&amp;", "<@U0ALICE>", "<https://x.y|z>", "word "])


@given(st.lists(_TOKENS, max_size=300).map("".join), st.integers(min_value=20, max_value=120))
def test_pieces_fit_and_join_to_the_text(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= limit for p in pieces) or pieces == [""]


def test_cuts_after_a_word_and_never_inside_a_link_or_an_entity() -> None:
    text = "x" * 2990 + " <https://example.com/a|a link> more"
    first, second = split_text(text)
    assert first == "x" * 2990 + " " and second.startswith("<https://")
    text = "y" * 2997 + "&amp;" + "z" * 100
    first, _ = split_text(text)
    assert first == "y" * 2997
