"""Knowledge-base answers (Markdown) to the neutral HTML the adapters send: emphasis, code, links, quotes;
lists and headings become plain lines."""

from __future__ import annotations

import html

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_LINK_SCHEMES = ("http", "https", "tg")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def markdown_to_html(markdown: str) -> str:
    """Markdown to neutral HTML: emphasis, code, links, quotes; lists and headings become plain lines."""
    return _Renderer().blocks(SyntaxTreeNode(_MARKDOWN.parse(markdown)).children, 0).strip()


class _Renderer:
    def __init__(self) -> None:
        self.in_quote = False

    def blocks(self, nodes: list[SyntaxTreeNode], depth: int, separator: str = "\n\n") -> str:
        return separator.join(part for node in nodes if (part := self.block(node, depth)))

    def block(self, node: SyntaxTreeNode, depth: int) -> str:
        if node.type == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if node.type == "heading":
            return f"<b>{self.inline(node.children[0])}</b>" if node.children else ""
        if node.type in ("bullet_list", "ordered_list"):
            number = int(node.attrs.get("start", 1) or 1)
            items = []
            for offset, item in enumerate(node.children):
                marker = f"{number + offset}. " if node.type == "ordered_list" else "• "
                items.append("  " * depth + marker + self.blocks(item.children, depth + 1, "\n"))
            return "\n".join(items)
        if node.type == "blockquote":
            if self.in_quote:  # Telegram cannot nest quotes
                return self.blocks(node.children, depth, "\n")
            self.in_quote = True
            inner = self.blocks(node.children, depth, "\n")
            self.in_quote = False
            return f"<blockquote>{inner}</blockquote>"
        if node.type in ("fence", "code_block"):
            code = html.escape(node.content.rstrip("\n"), quote=False)
            language = (node.info or "").split()[0] if node.type == "fence" and node.info else ""
            if self.in_quote:
                return f"<code>{code}</code>"
            if language:
                return f'<pre><code class="language-{html.escape(language)}">{code}</code></pre>'
            return f"<pre>{code}</pre>"
        if node.type == "hr":
            return "――――――――"
        return self.blocks(node.children, depth)

    def inline(self, node: SyntaxTreeNode, styled: bool = False) -> str:
        parts: list[str] = []
        for child in node.children:
            kind = child.type
            if kind == "text":
                parts.append(html.escape(child.content, quote=False))
            elif kind == "softbreak":
                parts.append(" ")  # as in any Markdown: wrapped source lines flow together
            elif kind == "hardbreak":
                parts.append("\n")
            elif kind in ("strong", "em", "s"):
                tag = {"strong": "b", "em": "i", "s": "s"}[kind]
                parts.append(f"<{tag}>{self.inline(child, True)}</{tag}>")
            elif kind == "code_inline":
                code = html.escape(child.content, quote=False)
                parts.append(code if styled else f"<code>{code}</code>")  # Telegram: no code inside b/i/s/a
            elif kind == "link":
                parts.append(self.link(str(child.attrs.get("href", "")), child))
            else:
                parts.append(self.inline(child, styled))
        return "".join(parts)

    def link(self, href: str, node: SyntaxTreeNode) -> str:
        label = self.inline(node, True)
        scheme = href.partition(":")[0].lower()
        if scheme in _LINK_SCHEMES:
            return f'<a href="{html.escape(href)}">{label}</a>'
        address = html.escape(href.partition(":")[2] if scheme == "mailto" else href, quote=False)
        return label if not address or address == label else f"{label} ({address})"
