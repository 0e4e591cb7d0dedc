"""Splitting the markup tree (and stored neutral HTML) into Telegram-sized chunks."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import markup
from bot.telegram_io.convert import MESSAGE_LIMIT, split_html, split_markup, utf16_len
from tests.support.markup import TREES, assert_telegram_html

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


class Balance(HTMLParser):
    """Collects the visible text and fails on any end tag that does not close the innermost open tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> while open: {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(markup: str) -> str:
    """The visible text, asserting on the way that the markup is balanced."""
    parser = Balance()
    parser.feed(markup)
    parser.close()
    assert parser.stack == [], markup
    return "".join(parser.text)


def test_utf16_len() -> None:
    samples = ("", "abc", "é", "Ж", "😀", "👍🏼", "a\U0001f600b")
    assert [utf16_len(s) for s in samples] == [0, 3, 1, 1, 2, 4, 4]


def test_short_message_is_returned_unchanged() -> None:
    markup = "<b>Hello</b> &amp; welcome"
    assert split_html(markup) == [markup]
    assert MESSAGE_LIMIT == 4096


def test_blank_input_gives_no_chunks() -> None:
    assert split_html("") == []
    assert split_html("  \n ") == []
    assert split_html("<b> </b>" + " " * 5000) == []


def test_cuts_at_paragraph_break_first() -> None:
    text = "first line\nsecond line\n\nthird paragraph here"
    assert split_html(text, limit=30) == ["first line\nsecond line", "third paragraph here"]


def test_then_line_break_then_space() -> None:
    assert split_html("one two three\nfour five", limit=15) == ["one two three", "four five"]
    assert split_html("one two three four five", limit=15) == ["one two three", "four five"]


def test_a_break_that_leaves_a_tiny_chunk_loses_to_a_hard_cut() -> None:
    assert split_html("a " + "x" * 30, limit=10) == ["a xxxxxxxx", "x" * 10, "x" * 10, "xx"]


def test_open_tags_are_closed_and_reopened_at_the_cut() -> None:
    link = '<a href="https://x.org/?a=1&amp;b=2">a link here</a>'
    chunks = split_html(f"<b>bold <i>both</i> and {link}</b>", 16)
    assert chunks == [
        '<b>bold <i>both</i> and <a href="https://x.org/?a=1&amp;b=2">a</a></b>',
        '<b><a href="https://x.org/?a=1&amp;b=2">link here</a></b>',
    ]


def test_pre_with_language_is_reopened_and_indentation_kept() -> None:
    code = "def f():\n    return 1\n\ndef g():\n    return 2"
    chunks = split_html(f'<pre><code class="language-python">{code}</code></pre>', limit=30)
    assert chunks == [
        '<pre><code class="language-python">def f():\n    return 1</code></pre>',
        '<pre><code class="language-python">def g():\n    return 2</code></pre>',
    ]


def test_entities_count_as_one_character() -> None:
    chunks = split_html("&lt;" * 10, limit=4)
    assert chunks == ["&lt;" * 4, "&lt;" * 4, "&lt;" * 2]


def test_counts_utf16_units_and_never_tears_an_emoji() -> None:
    assert split_html("😀" * 5, limit=4) == ["😀😀", "😀😀", "😀"]
    assert split_html("👍🏼" * 3, limit=5) == ["👍🏼", "👍🏼", "👍🏼"]
    assert split_html("e\u0301" * 3, limit=3) == ["e\u0301", "e\u0301", "e\u0301"]


def test_adjacent_separate_elements_stay_separate() -> None:
    assert split_html("<blockquote>aaaa</blockquote><blockquote>bb cc</blockquote>", 7) == [
        "<blockquote>aaaa</blockquote><blockquote>bb</blockquote>", "<blockquote>cc</blockquote>"]


def test_limit_must_fit_one_character() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_html("abc", limit=1)


# ---------------------------------------------------------------- properties

PIECES = ["word", " ", "  ", "\n", "\n\n", "é", "😀", "👍🏼", "<", "&", "x" * 9, "\t"]
WORDS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join).map(
    lambda t: html.escape(t, quote=False))
TAGS = ["b", "i", "u", "s", "tg-spoiler", "code", "blockquote"]
MARKUP = st.recursive(
    WORDS,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(TAGS), inner).map(lambda p: f"<{p[0]}>{p[1]}</{p[0]}>"),
        inner.map(lambda t: f'<a href="https://x.org/?q=&quot;1&quot;">{t}</a>'),
        inner.map(lambda t: f'<pre><code class="language-py">{t}</code></pre>'),
        st.lists(inner, min_size=1, max_size=4).map("".join),
    ),
    max_leaves=12,
)


@PROPERTY
@given(MARKUP, st.integers(min_value=2, max_value=40))
def test_chunks_fit_are_balanced_and_keep_all_text_in_order(markup: str, limit: int) -> None:
    source = visible(markup)
    chunks = split_html(markup, limit)
    position = 0
    for chunk in chunks:
        text = visible(chunk)
        assert utf16_len(text) <= limit
        assert text.strip()
        # Guarantee: each chunk's text is the next piece of the input, with only whitespace skipped.
        found = source.find(text, position)
        assert found >= position and not source[position:found].strip(), (source, chunks)
        position = found + len(text)
    assert not source[position:].strip()
    assert "".join("".join(visible(c) for c in chunks).split()) == "".join(source.split())


@PROPERTY
@given(TREES, st.integers(min_value=2, max_value=60))
def test_every_chunk_of_a_tree_is_valid_telegram_html_and_nothing_is_lost(tree: tuple[markup.Node, ...],
                                                                          limit: int) -> None:
    chunks = split_markup(tree, limit)
    shown = []
    for chunk in chunks:
        assert_telegram_html(chunk)
        text = markup.html_to_plain(chunk)
        assert 0 < utf16_len(text) <= limit and text.strip()
        shown.append(text)
    # Only the whitespace a soft cut is made at may go; every other character arrives, in order.
    assert "".join("".join(shown).split()) == "".join(markup.to_plain(tree).split())


def test_a_tree_that_fits_is_one_message() -> None:
    tree = markup.parse_html("<strong>Hi</strong> &lt;3")
    assert split_markup(tree) == ["<b>Hi</b> &lt;3"]
