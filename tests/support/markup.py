"""Markup for property tests: random trees that Telegram would accept, and a checker of Telegram HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import strategies as st

from bot.core.markup import Code, Link, Node, Pre, Quote, Styled, Text

EMPHASIS = {"b", "i", "u", "s", "tg-spoiler"}
ALLOWED = {*EMPHASIS, "code", "pre", "a", "blockquote"}


class TelegramHtmlChecker(HTMLParser):
    """Fails on anything Telegram's HTML mode would reject or that breaks its nesting rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        names = [name for name, _ in attrs]
        expected = {"a": ["href"], "code": ["class"] if attrs else [], "blockquote": ["expandable"] if attrs else []}
        assert names == expected.get(tag, []), attrs
        assert not {"code", "pre"} & set(self.stack) or (tag == "code" and self.stack[-1:] == ["pre"]), \
            f"<{tag}> inside code: {self.stack}"
        if tag in ("code", "pre"):
            assert not EMPHASIS & set(self.stack), f"<{tag}> inside {self.stack}"
        assert not (tag == "pre" and "blockquote" in self.stack)
        assert not (tag in ("a", "blockquote") and tag in self.stack), f"nested <{tag}>"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> while open: {self.stack}"
        self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        assert name in ("lt", "gt", "amp", "quot"), name


def assert_telegram_html(markup: str) -> None:
    bare = re.sub(r"</?[a-z-]+(?: [^<>]*)?>", "", markup)
    assert "<" not in bare and ">" not in bare, markup
    assert not re.search(r"&(?!(lt|gt|amp|quot);)", bare), markup
    checker = TelegramHtmlChecker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == [], markup


# Outside text as customers and models write it: Slack and HTML control sequences included.
PIECES = ["word", " ", "  ", "\n", "\n\n", "é", "😀", "👍🏼", "<", ">", "&", "&amp;", "x" * 9, "\t", "*", "_",
          "~", "`", ":smile:", "<!channel>", "<@U1>", "<https://evil.test|login>", "&lt;", '"', "> "]
TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)
HREF = st.sampled_from(["https://x.org/?a=1&b=2", 'https://x.org/"q"', "https://x.org/a|<!here>"])


def _styled(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.builds(lambda style, kids: Styled(style, tuple(kids)), st.sampled_from(["b", "i", "u", "s", "spoiler"]),
                     st.lists(inner, min_size=1, max_size=3))


# b/i/u/s/spoiler nest freely; a link holds no link; code and pre hold only text, never inside b/i/s/a;
# a quote holds no quote and no pre.
INLINE: st.SearchStrategy[Node] = st.recursive(st.builds(Text, TEXT), _styled, max_leaves=6)
LINKED = st.one_of(INLINE, st.builds(lambda href, kids: Link(href, tuple(kids)), HREF,
                                     st.lists(INLINE, min_size=1, max_size=2)))
QUOTED = st.one_of(LINKED, st.builds(Code, TEXT))
TOP = st.one_of(
    LINKED,
    st.builds(Code, TEXT),
    st.builds(Pre, TEXT, st.sampled_from(["", "python"])),
    st.builds(lambda kids, expandable: Quote(tuple(kids), expandable), st.lists(QUOTED, min_size=1, max_size=3),
              st.booleans()),
)
TREES = st.lists(TOP, max_size=5).map(tuple)
