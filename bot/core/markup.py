"""One tree for formatted text, whatever it came from (Telegram entities, Slack mrkdwn, knowledge-base
Markdown), with the neutral renderers: plain text and the neutral HTML that messages are stored as.

Every parser builds this tree and every renderer reads it, so a message is parsed once and its plain
text, stored HTML, Telegram chunks and Slack mrkdwn all come from the same nodes. The neutral HTML is
the Telegram HTML subset (the one format both sides can carry losslessly), and `parse_html` is the only
HTML parser in Baton. Platform renderers live with their adapters: Telegram chunks in
bot.telegram_io.convert, Slack mrkdwn in operator_bridge.mrkdwn_out.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

Style = Literal["b", "i", "u", "s", "spoiler"]
STYLES: tuple[Style, ...] = ("b", "i", "u", "s", "spoiler")


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Styled:
    """Bold, italic, underline, strikethrough or spoiler around its children."""

    style: Style
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Pre:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Link:
    href: str
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Quote:
    children: tuple[Node, ...]
    expandable: bool = False


@dataclass(frozen=True)
class Element:
    """Any other tag (a Telegram custom emoji, a date): kept for Telegram, its text shown elsewhere."""

    tag: str
    attrs: tuple[tuple[str, str | None], ...]
    children: tuple[Node, ...]


Node = Text | Styled | Code | Pre | Link | Quote | Element
Parent = Styled | Link | Quote | Element


# ------------------------------------------------------------------------------------------- building


@dataclass
class _Open:
    tag: str  # the source tag, to match its end tag
    make: Callable[[tuple[Node, ...]], Node]  # builds the node once its children are known
    children: list[Node] = field(default_factory=list)


class Builder:
    """Builds a tree from open/add/close calls, so parsers need not assemble frozen nodes themselves."""

    def __init__(self) -> None:
        self._root: list[Node] = []
        self._stack: list[_Open] = []

    @property
    def _children(self) -> list[Node]:
        return self._stack[-1].children if self._stack else self._root

    def text(self, text: str) -> None:
        if not text:
            return
        children = self._children
        if children and isinstance(children[-1], Text):
            children[-1] = Text(children[-1].text + text)  # one text node per run
        else:
            children.append(Text(text))

    def add(self, node: Node) -> None:
        if isinstance(node, Text):
            self.text(node.text)
        else:
            self._children.append(node)

    def open_styled(self, style: Style, tag: str = "") -> None:
        self._stack.append(_Open(tag or style, lambda kids: Styled(style, kids)))

    def open_link(self, href: str, tag: str = "a") -> None:
        self._stack.append(_Open(tag, lambda kids: Link(href, kids)))

    def open_quote(self, expandable: bool = False, tag: str = "blockquote") -> None:
        self._stack.append(_Open(tag, lambda kids: Quote(kids, expandable)))

    def open_element(self, tag: str, attrs: tuple[tuple[str, str | None], ...]) -> None:
        self._stack.append(_Open(tag, lambda kids: Element(tag, attrs, kids)))

    def close(self) -> None:
        opened = self._stack.pop()
        self._children.append(opened.make(tuple(opened.children)))

    def close_tag(self, tag: str) -> None:
        """Close the innermost element opened by `tag` and everything opened inside it; a stray end tag
        is ignored, as browsers and Telegram do."""
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index].tag == tag:
                while len(self._stack) > index:
                    self.close()
                return

    def nodes(self) -> tuple[Node, ...]:
        while self._stack:
            self.close()
        return tuple(self._root)


# ---------------------------------------------------------------------------------------- neutral HTML

_STYLE_TAGS: dict[str, Style] = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u",
                                  "s": "s", "strike": "s", "del": "s", "tg-spoiler": "spoiler"}
_VOID_TAGS = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link"})


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Builder()
        self.verbatim: list[str] | None = None  # the text of an open <code> or <pre>
        self.verbatim_tag = ""
        self.depth = 0  # a nested <code> or <pre> of the same kind: only its own end tag ends the text
        self.language = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.verbatim is not None:  # Telegram allows nothing inside code: keep only the text
            self.depth += tag == self.verbatim_tag
            if tag == "code" and self.verbatim_tag == "pre" and not self.language:
                self.language = _language(attrs)
            elif tag == "br":
                self.verbatim.append("\n")
            return
        named = dict(attrs)
        if tag == "br":
            self.out.text("\n")
        elif tag in _VOID_TAGS:
            pass  # holds no text: nothing to show
        elif tag in _STYLE_TAGS:
            self.out.open_styled(_STYLE_TAGS[tag], tag)
        elif tag == "span" and "tg-spoiler" in (named.get("class") or "").split():
            self.out.open_styled("spoiler", tag)
        elif tag == "a":
            self.out.open_link(named.get("href") or "")
        elif tag == "blockquote":
            self.out.open_quote("expandable" in named)
        elif tag in ("code", "pre"):
            self.verbatim, self.verbatim_tag = [], tag
            self.language = _language(attrs) if tag == "code" else ""
        else:
            self.out.open_element(tag, tuple(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_starttag(tag, attrs)  # a self-closed element otherwise holds no text

    def handle_endtag(self, tag: str) -> None:
        if self.verbatim is not None:
            if tag == self.verbatim_tag and self.depth:
                self.depth -= 1
            elif tag == self.verbatim_tag:
                text = "".join(self.verbatim)
                self.out.add(Pre(text, self.language) if tag == "pre" else Code(text))
                self.verbatim = None
            return
        self.out.close_tag(tag)

    def handle_data(self, data: str) -> None:
        if self.verbatim is not None:
            self.verbatim.append(data)
        else:
            self.out.text(data)

    def result(self) -> tuple[Node, ...]:
        if self.verbatim is not None:  # an unclosed code or pre keeps its text
            self.handle_endtag(self.verbatim_tag)
        return self.out.nodes()


def _language(attrs: list[tuple[str, str | None]]) -> str:
    css = dict(attrs).get("class") or ""
    return css.removeprefix("language-") if css.startswith("language-") else ""


def parse_html(markup: str) -> tuple[Node, ...]:
    """Neutral HTML (what PTB's text_html gives and what messages are stored as) as a tree."""
    reader = _HtmlReader()
    reader.feed(markup)
    reader.close()
    return reader.result()


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _start_tag(tag: str, attrs: Iterable[tuple[str, str | None]]) -> str:
    return f"<{tag}" + "".join(f" {name}" if value is None else f' {name}="{html.escape(value)}"'
                               for name, value in attrs) + ">"


def to_html(nodes: Iterable[Node]) -> str:
    """The tree as neutral HTML, in Telegram's own spelling of each tag."""
    return "".join(_html(node) for node in nodes)


def _html(node: Node) -> str:
    if isinstance(node, Text):
        return _esc(node.text)
    if isinstance(node, Code):
        return f"<code>{_esc(node.text)}</code>"
    if isinstance(node, Pre):
        if node.language:
            return f'<pre><code class="language-{html.escape(node.language)}">{_esc(node.text)}</code></pre>'
        return f"<pre>{_esc(node.text)}</pre>"
    inner = to_html(node.children)
    if isinstance(node, Styled):
        tag = "tg-spoiler" if node.style == "spoiler" else node.style
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(node, Link):
        return f'<a href="{html.escape(node.href)}">{inner}</a>'
    if isinstance(node, Quote):
        return f"<blockquote{' expandable' if node.expandable else ''}>{inner}</blockquote>"
    return f"{_start_tag(node.tag, node.attrs)}{inner}</{node.tag}>"


def from_plain(text: str) -> tuple[Node, ...]:
    return (Text(text),) if text else ()


def strip(nodes: Iterable[Node]) -> tuple[Node, ...]:
    """The tree without the whitespace text at its very start and end (formatted text is kept as is)."""
    out = list(nodes)
    while out and isinstance(out[0], Text) and not out[0].text.lstrip():
        out.pop(0)
    if out and isinstance(out[0], Text):
        out[0] = Text(out[0].text.lstrip())
    while out and isinstance(out[-1], Text) and not out[-1].text.rstrip():
        out.pop()
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text.rstrip())
    return tuple(out)


# ---------------------------------------------------------------------------------------- plain text


def texts(nodes: Iterable[Node]) -> Iterator[str]:
    """The visible text of the tree, run by run, in order."""
    for node in nodes:
        if isinstance(node, (Text, Code, Pre)):
            yield node.text
        else:
            yield from texts(node.children)


def to_plain(nodes: Iterable[Node]) -> str:
    return "".join(texts(nodes))


def html_to_plain(markup: str) -> str:
    """The visible text of stored neutral HTML."""
    return to_plain(parse_html(markup))


# ---------------------------------------------------------------------------------------- slicing


def cut(nodes: Iterable[Node], begin: int, end: int) -> tuple[Node, ...]:
    """The part of the tree that shows the plain text [begin, end): formatting around it is kept, and
    elements left with no text there are dropped."""
    out, _ = _cut(tuple(nodes), begin, end, 0)
    return out


def _cut(nodes: tuple[Node, ...], begin: int, end: int, at: int) -> tuple[tuple[Node, ...], int]:
    out: list[Node] = []
    for node in nodes:
        if at >= end:
            break
        if isinstance(node, (Text, Code, Pre)):
            size = len(node.text)
            piece = node.text[max(begin - at, 0):max(end - at, 0)]
            if piece:
                out.append(Text(piece) if isinstance(node, Text) else
                           Code(piece) if isinstance(node, Code) else Pre(piece, node.language))
            at += size
            continue
        size = sum(len(part) for part in texts(node.children))
        if at + size > begin:
            kept, _ = _cut(node.children, begin, end, at)
            if kept:
                out.append(_with_children(node, kept))
        at += size
    return tuple(out), at


def _with_children(node: Parent, children: tuple[Node, ...]) -> Node:
    if isinstance(node, Styled):
        return Styled(node.style, children)
    if isinstance(node, Link):
        return Link(node.href, children)
    if isinstance(node, Quote):
        return Quote(children, node.expandable)
    return Element(node.tag, node.attrs, children)
