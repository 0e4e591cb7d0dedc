"""Slack's mrkdwn as a Slack client shows it: to HTML for the sandbox page, to plain text for terminals.

Angle-bracket tokens (<@U…>, <#C…>, <!date^…>, <url|text>) are resolved first, then the remaining text
(which Slack sends with &, < and > escaped) is unescaped, HTML-escaped again, and formatted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import emoji

_ANGLE = re.compile(r"<([^<>\n]+)>")
_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI = re.compile(r":([a-z0-9_+\-']+):(?::skin-tone-\d:)?")
_STYLES = [  # Slack: the markers must touch the text and not sit inside a word
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
]
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
# Slack's own names that the emoji library spells differently.
_SLACK_NAMES = {"simple_smile": "🙂", "slightly_smiling_face": "🙂", "white_check_mark": "✅",
                "robot_face": "🤖", "hourglass_flowing_sand": "⏳", "bust_in_silhouette": "👤"}

Namer = Callable[[str], str]


def emoji_for(name: str) -> str | None:
    """The character for a Slack emoji name (without colons), or None if unknown."""
    if name in _SLACK_NAMES:
        return _SLACK_NAMES[name]
    for language in ("alias", "en"):
        found = emoji.emojize(f":{name}:", language=language)
        if found != f":{name}:":
            return found
    return None


def emojize(text: str) -> str:
    return _EMOJI.sub(lambda m: emoji_for(m.group(1)) or m.group(0), text)


def date_fallback(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M UTC")


class Mrkdwn:
    """Renders mrkdwn with names looked up through the workspace (`user_name`, `channel_name`)."""

    def __init__(self, user_name: Namer, channel_name: Namer, group_name: Namer | None = None,
                 local_link: Callable[[str], str | None] | None = None) -> None:
        self.user_name, self.channel_name = user_name, channel_name
        self.group_name = group_name or (lambda gid: gid)
        self.local_link = local_link or (lambda url: None)  # workspace permalinks open in the page itself

    def link(self, url: str, label_html: str) -> str:
        local = self.local_link(url)
        if local is not None:
            return f'<a href="{html.escape(local)}">{label_html}</a>'
        return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{label_html}</a>'


    # --- angle tokens ---------------------------------------------------------------------------

    def _token_html(self, body: str) -> str:
        target, _, label = body.partition("|")
        esc = html.escape
        if target.startswith("@"):
            return f'<span class="mention">@{esc(label or self.user_name(target[1:]))}</span>'
        if target.startswith("#"):
            return f'<span class="mention">#{esc(label or self.channel_name(target[1:]))}</span>'
        if target.startswith("!date^"):
            parts = target.split("^")
            epoch = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            fmt = parts[2] if len(parts) > 2 else "{time}"
            link = parts[3] if len(parts) > 3 else ""
            shown = esc(html.unescape(label) if label else date_fallback(epoch))
            node = f'<time class="slack-date" data-epoch="{epoch}" data-format="{esc(fmt)}">{shown}</time>'
            return f'<a href="{esc(link)}">{node}</a>' if link else node
        if target.startswith("!subteam^"):
            return f'<span class="mention">@{esc(label or self.group_name(target[9:]))}</span>'
        if target.startswith("!"):
            return f'<span class="mention">@{esc(label or target[1:])}</span>'
        url = html.unescape(target)
        if not re.match(r"(https?|mailto|tel|slack):", url):
            return esc(f"<{html.unescape(body)}>")
        text = html.unescape(label) if label else url.removeprefix("mailto:")
        return self.link(url, esc(text))

    def _token_text(self, body: str) -> str:
        target, _, label = body.partition("|")
        if target.startswith("@"):
            return "@" + (label or self.user_name(target[1:]))
        if target.startswith("#"):
            return "#" + (label or self.channel_name(target[1:]))
        if target.startswith("!date^"):
            parts = target.split("^")
            epoch = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            return datetime.fromtimestamp(epoch).astimezone().strftime("%H:%M")
        if target.startswith("!"):
            return "@" + (label or target[1:].partition("^")[0])
        url = html.unescape(target)
        return f"{html.unescape(label)} ({url})" if label and label != url else url

    # --- whole texts ----------------------------------------------------------------------------

    def to_html(self, text: str) -> str:
        saved: list[str] = []

        def keep(fragment: str) -> str:
            saved.append(fragment)
            return f"\x00{len(saved) - 1}\x00"

        text = _CODE_BLOCK.sub(lambda m: keep(f"<pre>{_escape_plain(m.group(1))}</pre>"), text or "")
        text = _CODE.sub(lambda m: keep(f"<code>{_escape_plain(m.group(1))}</code>"), text)
        text = _ANGLE.sub(lambda m: keep(self._token_html(m.group(1))), text)
        text = _escape_plain(text)
        text = emojize(text)
        for pattern, tag in _STYLES:
            text = pattern.sub(lambda m, t=tag: f"<{t}>{m.group(1)}</{t}>", text)
        lines, out, quote = text.split("\n"), [], []
        for line in lines:
            if line.startswith("&gt;"):
                quote.append(line[4:].removeprefix(" "))
                continue
            if quote:
                out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
                quote = []
            out.append(line + "<br>")
        if quote:
            out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
        joined = "".join(out).removesuffix("<br>")
        while _PLACEHOLDER.search(joined):
            joined = _PLACEHOLDER.sub(lambda m: saved[int(m.group(1))], joined)
        return joined

    def to_text(self, text: str) -> str:
        """What a reader sees, as plain text: names, local times, emoji, no markers."""
        text = _CODE_BLOCK.sub(lambda m: m.group(1), text or "")
        text = _ANGLE.sub(lambda m: self._token_text(m.group(1)), text)
        text = emojize(text)
        for pattern, _tag in _STYLES:
            text = pattern.sub(lambda m: m.group(1), text)
        text = _CODE.sub(lambda m: m.group(1), text)
        text = re.sub(r"^&gt; ?", "│ ", text, flags=re.M)
        return html.unescape(text)


def _escape_plain(text: str) -> str:
    # Slack escapes &, < and > in message text; people's raw text may not be: treat both the same.
    return html.escape(html.unescape(text), quote=False)
