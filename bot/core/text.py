"""Plain text out of the neutral HTML subset that messages carry inside Baton."""

from __future__ import annotations

import html
from html.parser import HTMLParser


class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_plain(markup: str) -> str:
    parser = _Plain()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def plain_to_html(text: str) -> str:
    return html.escape(text, quote=False)
