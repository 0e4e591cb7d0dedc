"""Plain text out of the neutral HTML subset that messages carry inside Baton, and the one escape for outside text."""

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


def quote(value: object) -> str:
    """Outside text (a customer's name, a model's reason, a platform's error, a person's display name) made
    safe to place inside the markup the core writes for operators.

    The one escaping function for every surface: `&`, `<` and `>` as entities is what both Slack mrkdwn and
    HTML require, so `<!channel>`, `<@U…>` or `<https://evil|login>` in a name show as typed instead of
    broadcasting, mentioning or hiding a link. The Slack adapter's builders use it too."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
