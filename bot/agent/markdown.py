"""Knowledge-base answers (Markdown) to the markup tree, and so to the neutral HTML the adapters send:
emphasis, code, links, quotes; lists and headings become plain lines."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bot.core import markup
from bot.core.markup import Code, Link, Node, Pre, Quote, Style, Styled, Text

_LINK_SCHEMES = ("http", "https", "tg")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
_STYLES: dict[str, Style] = {"strong": "b", "em": "i", "s": "s"}


def markdown_to_markup(markdown: str) -> tuple[Node, ...]:
    """Markdown as a markup tree: emphasis, code, links, quotes; lists and headings become plain lines."""
    return markup.strip(_Renderer().blocks(SyntaxTreeNode(_MARKDOWN.parse(markdown)).children, 0))


def markdown_to_html(markdown: str) -> str:
    return markup.to_html(markdown_to_markup(markdown))


class _Renderer:
    def __init__(self) -> None:
        self.in_quote = False

    def blocks(self, nodes: list[SyntaxTreeNode], depth: int, separator: str = "\n\n") -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            if part := self.block(node, depth):
                out += [Text(separator), *part] if out else part
        return out

    def block(self, node: SyntaxTreeNode, depth: int) -> list[Node]:
        if node.type == "paragraph":
            return self.inline(node.children[0]) if node.children else []
        if node.type == "heading":
            return [Styled("b", tuple(self.inline(node.children[0])))] if node.children else []
        if node.type in ("bullet_list", "ordered_list"):
            number = int(node.attrs.get("start", 1) or 1)
            items: list[Node] = []
            for offset, item in enumerate(node.children):
                marker = f"{number + offset}. " if node.type == "ordered_list" else "• "
                items += [Text(("\n" if offset else "") + "  " * depth + marker),
                          *self.blocks(item.children, depth + 1, "\n")]
            return items
        if node.type == "blockquote":
            if self.in_quote:  # Telegram cannot nest quotes
                return self.blocks(node.children, depth, "\n")
            self.in_quote = True
            inner = self.blocks(node.children, depth, "\n")
            self.in_quote = False
            return [Quote(tuple(inner))]
        if node.type in ("fence", "code_block"):
            code = node.content.rstrip("\n")
            language = "".join((node.info or "").split()[:1]) if node.type == "fence" else ""  # "```  " has none
            return [Code(code) if self.in_quote else Pre(code, language)]
        if node.type == "hr":
            return [Text("――――――――")]
        return self.blocks(node.children, depth)

    def inline(self, node: SyntaxTreeNode, styled: bool = False) -> list[Node]:
        parts: list[Node] = []
        for child in node.children:
            kind = child.type
            if kind == "text":
                parts.append(Text(child.content))
            elif kind == "softbreak":
                parts.append(Text(" "))  # as in any Markdown: wrapped source lines flow together
            elif kind == "hardbreak":
                parts.append(Text("\n"))
            elif kind in _STYLES:
                parts.append(Styled(_STYLES[kind], tuple(self.inline(child, True))))
            elif kind == "code_inline":
                # Telegram: no code inside b/i/s/a
                parts.append(Text(child.content) if styled else Code(child.content))
            elif kind == "link":
                parts += self.link(str(child.attrs.get("href", "")), child)
            else:
                parts += self.inline(child, styled)
        return parts

    def link(self, href: str, node: SyntaxTreeNode) -> list[Node]:
        label = self.inline(node, True)
        scheme = href.partition(":")[0].lower()
        if scheme in _LINK_SCHEMES:
            return [Link(href, tuple(label))]
        address = href.partition(":")[2] if scheme == "mailto" else href
        same = all(isinstance(part, Text) for part in label) and markup.to_plain(label) == address
        return label if not address or same else [*label, Text(f" ({address})")]
