"""The markup tree: reading neutral HTML into it, and its neutral renderers (plain text, HTML, cutting)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import markup
from bot.core.markup import Code, Element, Link, Pre, Quote, Styled, Text
from tests.support.markup import TREES, assert_telegram_html

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize(("source", "tree"), [
    ("plain &amp; &lt;simple&gt;", (Text("plain & <simple>"),)),
    ("<b>a <i>b</i></b>", (Styled("b", (Text("a "), Styled("i", (Text("b"),)))),)),
    ("<strong>s</strong><em>e</em><ins>u</ins><del>d</del><strike>k</strike>",
     (Styled("b", (Text("s"),)), Styled("i", (Text("e"),)), Styled("u", (Text("u"),)), Styled("s", (Text("d"),)),
      Styled("s", (Text("k"),)))),
    ('<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>',
     (Styled("spoiler", (Text("x"),)), Styled("spoiler", (Text("y"),)))),
    ('<a href="https://x.org/?a=1&amp;b=2">l</a>', (Link("https://x.org/?a=1&b=2", (Text("l"),)),)),
    ("<code>a &lt; b</code>", (Code("a < b"),)),
    ('<pre><code class="language-py">x\n  y</code></pre>', (Pre("x\n  y", "py"),)),
    ("<pre>bare</pre>", (Pre("bare"),)),
    ("<blockquote expandable>q</blockquote>", (Quote((Text("q"),), expandable=True),)),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
     (Element("tg-emoji", (("emoji-id", "5368324170671202286"),), (Text("👍"),)),)),
    ("one<br>two<br/>", (Text("one\ntwo\n"),)),
    ("<b>unclosed <i>both", (Styled("b", (Text("unclosed "), Styled("i", (Text("both"),)))),)),
    ("stray</b> end", (Text("stray end"),)),
    ("<code>open", (Code("open"),)),
])
def test_parse_html(source: str, tree: tuple[markup.Node, ...]) -> None:
    assert markup.parse_html(source) == tree


def test_renders_in_telegram_spelling() -> None:
    tree = markup.parse_html('<strong>b</strong> <span class="tg-spoiler">s</span> <blockquote expandable>q'
                             '</blockquote><pre><code class="language-py">x</code></pre><a href="https://x/?&quot;">'
                             "l</a>")
    assert markup.to_html(tree) == ('<b>b</b> <tg-spoiler>s</tg-spoiler> <blockquote expandable>q</blockquote>'
                                    '<pre><code class="language-py">x</code></pre><a href="https://x/?&quot;">l</a>')
    assert markup.to_plain(tree) == "b s qxl"


def test_cut_keeps_formatting_around_the_part_and_drops_what_is_outside() -> None:
    tree = markup.parse_html("<b>bold <i>both</i></b> <code>code</code> <blockquote>q</blockquote>")
    assert markup.to_html(markup.cut(tree, 2, 7)) == "<b>ld <i>bo</i></b>"
    assert markup.to_html(markup.cut(tree, 9, 12)) == " <code>co</code>"
    assert markup.cut(tree, 14, 99) == (Text(" "), Quote((Text("q"),)))


def test_strip() -> None:
    assert markup.strip((Text("\n "), Text("  a "), Styled("b", (Text(" x "),)), Text(" \n"))) == (
        Text("a "), Styled("b", (Text(" x "),)))


# ---------------------------------------------------------------- properties


@PROPERTY
@given(TREES)
def test_html_round_trip_keeps_the_tree(tree: tuple[markup.Node, ...]) -> None:
    html = markup.to_html(tree)
    assert_telegram_html(html)
    again = markup.parse_html(html)
    assert markup.to_html(again) == html
    assert markup.to_plain(again) == markup.to_plain(tree)


@PROPERTY
@given(TREES, st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_cuts_partition_the_text_and_stay_valid(tree: tuple[markup.Node, ...], points: list[int]) -> None:
    plain = markup.to_plain(tree)
    edges = [0, *sorted(min(point, len(plain)) for point in points), len(plain)]
    pieces = [markup.cut(tree, begin, end) for begin, end in pairwise(edges)]
    for piece in pieces:
        assert_telegram_html(markup.to_html(piece))
    assert "".join(markup.to_plain(piece) for piece in pieces) == plain
    assert markup.to_html(markup.cut(tree, 0, len(plain))) == markup.to_html(tree)
