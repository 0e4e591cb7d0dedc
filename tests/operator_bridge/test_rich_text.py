"""Operators' messages read from the rich_text block Slack clients attach, shaped as Slack sends it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import markup
from operator_bridge.formatting import mrkdwn_to_html
from operator_bridge.rich_text_in import operator_markup, rich_text_to_markup
from sandbox.slack_rich_text import rich_text_block
from tests.support.markup import assert_telegram_html


def _html(*elements: dict[str, Any], **names: Any) -> str:
    tree = rich_text_to_markup([{"type": "rich_text", "block_id": "b", "elements": list(elements)}], **names)
    assert tree is not None
    html = markup.to_html(tree)
    assert_telegram_html(html)
    return html


def _section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def _text(text: str, **style: bool) -> dict[str, Any]:
    return {"type": "text", "text": text, **({"style": style} if style else {})}


def test_no_rich_text_block_means_the_mrkdwn_is_read() -> None:
    assert rich_text_to_markup(None) is None
    assert rich_text_to_markup([{"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}]) is None


def test_styles_nest_and_neighbours_share_their_element() -> None:
    assert _html(_section(_text("plain "), _text("bold ", bold=True), _text("both", bold=True, italic=True),
                          _text(" bold", bold=True), _text(" "), _text("gone", strike=True),
                          _text(" under", underline=True))) == (
        "plain <b>bold <i>both</i> bold</b> <s>gone</s><u> under</u>")


def test_code_is_never_inside_emphasis() -> None:
    assert _html(_section(_text("run ", bold=True), _text("make <test>", bold=True, code=True),
                          _text(" now", bold=True))) == "<b>run </b><code>make &lt;test&gt;</code><b> now</b>"


def test_links_mentions_emoji_and_dates_as_text() -> None:
    users, channels = {"U1": "Alice Smith"}.get, {"C2": "random"}.get
    assert _html(_section(
        {"type": "link", "url": "https://x.org/?a=1&b=2", "text": "the docs", "style": {"bold": True}}, _text(" "),
        {"type": "link", "url": "https://x.org"}, _text(" "),
        {"type": "link", "url": "mailto:help@shop.test", "text": "write us"}, _text(" "),
        {"type": "user", "user_id": "U1"}, _text(" "), {"type": "user", "user_id": "U9"}, _text(" "),
        {"type": "channel", "channel_id": "C2"}, _text(" "), {"type": "usergroup", "usergroup_id": "S1"}, _text(" "),
        {"type": "broadcast", "range": "here"}, _text(" "),
        {"type": "emoji", "name": "+1", "unicode": "1f44d-1f3fc", "skin_tone": 3},
        {"type": "emoji", "name": "smile"}, {"type": "emoji", "name": "wave::skin-tone-2"},
        {"type": "emoji", "name": "party_parrot"}, _text(" "),
        {"type": "date", "timestamp": 1392734382, "format": "{date}", "fallback": "Feb 18"},
    ), user_name=users, channel_name=channels) == (
        '<b><a href="https://x.org/?a=1&amp;b=2">the docs</a></b> <a href="https://x.org">https://x.org</a> '
        "write us (help@shop.test) @Alice Smith @U9 #random @S1 @here 👍🏼😄👋🏻:party_parrot: Feb 18")


def test_blocks_quotes_and_lists_start_their_own_lines() -> None:
    assert _html(
        _section(_text("Steps:")),
        {"type": "rich_text_list", "style": "ordered", "indent": 0, "elements": [
            _section(_text("open ")), _section(_text("the box", bold=True))]},
        {"type": "rich_text_list", "style": "bullet", "indent": 1, "elements": [_section(_text("carefully"))]},
        {"type": "rich_text_quote", "elements": [_text("quoted\nlines")]},
        {"type": "rich_text_preformatted", "elements": [_text("a < b\n"), {"type": "user", "user_id": "U1"}]},
        _section(_text("\nbye")),
    ) == ("Steps:\n1. open \n2. <b>the box</b>\n  • carefully\n<blockquote>quoted\nlines</blockquote>\n"
          "<pre>a &lt; b\n@U1</pre>\nbye")


def test_an_empty_quote_is_no_quote() -> None:
    assert _html({"type": "rich_text_quote", "elements": [_text(" ")]}) == " "


@pytest.mark.parametrize("typed", [
    "Hi Carol, *Norway* takes 5 days.",
    "*bold _both_ bold* and ~gone~, `rm -rf *.tmp`",
    "see <https://example.com/a?b=1&amp;c=2|the docs> or <https://example.com>, ask <@U1> in <#C2|random>",
    "Tom &amp; Jerry &lt;3 :smile:",
    "intro\n&gt; quoted *line*\n&gt; second\nafter",
    "before\n```\ndef f(*a):\n    return 1\n```\nafter",
])
def test_a_message_typed_in_the_sandbox_reads_the_same_from_rich_text_and_from_mrkdwn(typed: str) -> None:
    tree = operator_markup({"text": typed, "blocks": [rich_text_block(typed)]}, user_name={"U1": "Alice"}.get)
    assert markup.to_html(tree) == mrkdwn_to_html(typed, user_name={"U1": "Alice"}.get)


def test_a_message_without_rich_text_is_read_from_its_mrkdwn() -> None:
    assert markup.to_html(operator_markup({"text": "*hi* <@U8|bob>"})) == "<b>hi</b> @bob"


# ---------------------------------------------------------------- properties

_STYLE = st.fixed_dictionaries({}, optional={flag: st.booleans() for flag in ("bold", "italic", "strike", "underline",
                                                                              "code")})
_WORDS = st.lists(st.sampled_from(["a", " ", "\n", "<", ">", "&", "*", "_", "`", "é", "😀", "<!here>"]),
                  min_size=1, max_size=8).map("".join)
_INLINE = st.one_of(
    st.builds(lambda text, style: {"type": "text", "text": text, "style": style}, _WORDS, _STYLE),
    st.builds(lambda text, style: {"type": "link", "url": "https://x.org/?a=<b>&c", "text": text, "style": style},
              _WORDS, _STYLE),
    st.builds(lambda user: {"type": "user", "user_id": user}, st.sampled_from(["U1", "U2"])),
    st.just({"type": "broadcast", "range": "channel"}),
    st.just({"type": "emoji", "name": "smile", "unicode": "1f604"}),
)
_ELEMENT = st.one_of(
    st.builds(_section, _INLINE, _INLINE),
    st.lists(_INLINE, max_size=4).map(lambda items: {"type": "rich_text_quote", "elements": items}),
    st.lists(_INLINE, max_size=3).map(lambda items: {"type": "rich_text_preformatted", "elements": items}),
    st.lists(st.lists(_INLINE, max_size=3).map(lambda items: _section(*items)), max_size=3).map(
        lambda items: {"type": "rich_text_list", "style": "bullet", "elements": items}),
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(_ELEMENT, max_size=5))
def test_any_rich_text_gives_valid_telegram_html_with_every_word(elements: list[dict[str, Any]]) -> None:
    tree = rich_text_to_markup([{"type": "rich_text", "elements": elements}], user_name={"U1": "Al"}.get)
    assert tree is not None
    assert_telegram_html(markup.to_html(tree))
    shown = markup.to_plain(tree)
    position = 0
    for element in elements:
        for item in element["elements"]:
            for word in (item.get("text") or "").split():
                found = shown.find(word, position)
                assert found >= 0, (word, shown)
                position = found + len(word)
