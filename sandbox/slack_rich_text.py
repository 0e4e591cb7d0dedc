"""The `rich_text` block a Slack client attaches to what a person types: the message as composed, with
styles, links, mentions, emoji, code blocks and quotes as elements (the `text` beside it is mrkdwn)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sandbox.slack_mrkdwn import emoji_for

_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.S)
_ANGLE = re.compile(r"<([^<>\n]+)>")
_QUOTE = re.compile(r"^(?:&gt;|>) ?")
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|<(?P<angle>[^<>\n]+)>"
    r"|:(?P<emoji>[a-z0-9_+\-']+):"
    r"|(?<![\w*_~])(?P<marker>[*_~])(?=\S)(?P<styled>[^\n]+?)(?<=\S)(?P=marker)(?![\w*_~])"
)
_STYLE_OF = {"*": "bold", "_": "italic", "~": "strike"}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def rich_text_block(text: str, block_id: str | None = None) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    pos = 0
    for match in _CODE_BLOCK.finditer(text):
        elements += _paragraphs(text[pos:match.start()])
        elements.append({"type": "rich_text_preformatted", "border": 0, "elements": _verbatim(match.group(1))})
        pos = match.end()
    elements += _paragraphs(text[pos:])
    return {"type": "rich_text", "block_id": block_id or secrets.token_urlsafe(4),
            "elements": elements or [{"type": "rich_text_section", "elements": []}]}


def _verbatim(text: str) -> list[dict[str, Any]]:
    """A code block's text: mentions and links stay elements, nothing else is formatting."""
    out: list[dict[str, Any]] = []
    pos = 0
    for match in _ANGLE.finditer(text):
        if match.start() > pos:
            out.append({"type": "text", "text": _unescape(text[pos:match.start()])})
        out.append(_angle(match.group(1)))
        pos = match.end()
    if pos < len(text):
        out.append({"type": "text", "text": _unescape(text[pos:])})
    return out


def _paragraphs(text: str) -> list[dict[str, Any]]:
    """Sections and quotes: consecutive lines starting with ">" form one quote."""
    groups: list[tuple[bool, list[str]]] = []
    for line in text.split("\n"):
        quoted = bool(_QUOTE.match(line))
        line = _QUOTE.sub("", line, count=1) if quoted else line
        if groups and groups[-1][0] == quoted:
            groups[-1][1].append(line)
        else:
            groups.append((quoted, [line]))
    out: list[dict[str, Any]] = []
    for index, (quoted, lines) in enumerate(groups):
        body = "\n".join(lines)
        if not quoted and index + 1 < len(groups):
            body += "\n"  # a section's text ends with the line break before the quote that follows
        if body:
            out.append({"type": "rich_text_quote" if quoted else "rich_text_section", "elements": _inline(body, {})})
    return out


def _inline(text: str, style: dict[str, bool]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            out.append(_styled({"type": "text", "text": _unescape(text[pos:match.start()])}, style))
        if match["code"]:
            out.append(_styled({"type": "text", "text": _unescape(match["code"])}, {**style, "code": True}))
        elif match["angle"]:
            out.append(_styled(_angle(match["angle"]), style))
        elif match["emoji"]:
            found = emoji_for(match["emoji"])
            out.append({"type": "emoji", "name": match["emoji"], "unicode": "-".join(f"{ord(c):x}" for c in found)}
                       if found else _styled({"type": "text", "text": match.group(0)}, style))
        else:
            out += _inline(match["styled"], {**style, _STYLE_OF[match["marker"]]: True})
        pos = match.end()
    if pos < len(text):
        out.append(_styled({"type": "text", "text": _unescape(text[pos:])}, style))
    return out


def _styled(element: dict[str, Any], style: dict[str, bool]) -> dict[str, Any]:
    return {**element, "style": dict(style)} if style and element["type"] in ("text", "link") else element


def _angle(body: str) -> dict[str, Any]:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return {"type": "user", "user_id": target[1:]}
    if target.startswith("#"):
        return {"type": "channel", "channel_id": target[1:]}
    if target.startswith("!subteam^"):
        return {"type": "usergroup", "usergroup_id": target[9:]}
    if target.startswith("!date^"):
        parts = target.split("^")
        return {"type": "date", "timestamp": int(parts[1]) if parts[1].isdigit() else 0,
                "format": parts[2] if len(parts) > 2 else "{time}", "fallback": _unescape(label)}
    if target.startswith("!"):
        return {"type": "broadcast", "range": target[1:]}
    link: dict[str, Any] = {"type": "link", "url": _unescape(target)}
    if label:
        link["text"] = _unescape(label)
    return link
