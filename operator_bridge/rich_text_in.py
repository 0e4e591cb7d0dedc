"""An operator's Slack message as the markup tree, read from the `rich_text` block Slack clients attach.

The block is the message as its author composed it (styles, links, mentions, emoji, code, quotes, lists),
so nothing has to be guessed from mrkdwn's markers; mrkdwn_in.py stays for messages without one (apps,
workflows, the API).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bot.core.markup import Builder, Code, Node, Pre, Quote, Style, texts
from operator_bridge.mrkdwn_in import _emoji, _slack_unescape, mrkdwn_to_markup

Name = Callable[[str], str | None]
# Slack's style flags, in the order their elements nest (outermost first); code is a node of its own.
_STYLES: tuple[tuple[str, Style], ...] = (("bold", "b"), ("italic", "i"), ("strike", "s"), ("underline", "u"))
_LINK_SCHEMES = ("http", "https", "tg")
_LABELLED = re.compile(r"<([@#])([A-Z0-9]+)\|([^<>|]+)>")  # <@U1|bob>, <#C2|random> in the mrkdwn beside it


def _no_name(_: str) -> str | None:
    return None


def operator_markup(message: dict[str, Any], user_name: Name = _no_name) -> tuple[Node, ...]:
    """A person's Slack message (an event's or a `message_changed` event's `message`) as a tree: from its
    rich_text block, or from its mrkdwn when it has none."""
    text = str(message.get("text") or "")
    # A rich_text mention carries only the id; the mrkdwn beside it may carry the name Slack showed.
    labels = {(m[1], m[2]): _slack_unescape(m[3]) for m in _LABELLED.finditer(text)}
    tree = rich_text_to_markup(message.get("blocks"), user_name=lambda u: user_name(u) or labels.get(("@", u)),
                               channel_name=lambda c: labels.get(("#", c)))
    return tree or mrkdwn_to_markup(text, user_name=user_name)


def rich_text_to_markup(blocks: Iterable[dict[str, Any]] | None, *, user_name: Name = _no_name,
                        channel_name: Name = _no_name) -> tuple[Node, ...] | None:
    """The message's rich_text block as a tree, or None when it has none (then its mrkdwn is read)."""
    block = next((b for b in blocks or () if isinstance(b, dict) and b.get("type") == "rich_text"), None)
    if block is None:
        return None
    return _Reader(user_name, channel_name).block(block.get("elements") or [])


class _Reader:
    def __init__(self, user_name: Name, channel_name: Name) -> None:
        self.user_name, self.channel_name = user_name, channel_name

    def block(self, elements: list[dict[str, Any]]) -> tuple[Node, ...]:
        out = Builder()
        last = "\n"
        for element in elements:
            nodes = self.element(element)
            shown = "".join(texts(nodes))
            if not shown:
                continue
            if last != "\n" and not shown.startswith("\n"):
                out.text("\n")  # a list, quote or code block starts a line of its own, and so does what follows
            for node in nodes:
                out.add(node)
            last = shown[-1]
        return out.nodes()

    def element(self, element: dict[str, Any]) -> tuple[Node, ...]:
        kind = element.get("type")
        items = element.get("elements") or []
        if kind == "rich_text_preformatted":
            return (Pre("".join(self.plain(item) for item in items).strip("\n")),)
        if kind == "rich_text_quote":
            inner = self.inline(items)
            return (Quote(inner),) if "".join(texts(inner)).strip() else inner
        if kind == "rich_text_list":
            out = Builder()
            start = int(element.get("offset") or 0) + 1
            indent = "  " * int(element.get("indent") or 0)
            for number, item in enumerate(items, start):
                marker = f"{number}. " if element.get("style") == "ordered" else "• "
                out.text(("\n" if number > start else "") + indent + marker)
                for node in self.inline(item.get("elements") or []):
                    out.add(node)
            return out.nodes()
        return self.inline(items)

    def inline(self, items: list[dict[str, Any]]) -> tuple[Node, ...]:
        """Runs of styled text as nested nodes; a style shared by neighbouring runs stays one element."""
        out = Builder()
        current: list[Style] = []
        for item in items:
            flags = item.get("style") or {}
            if flags.get("code") and item.get("type") == "text":
                for _ in current:  # Telegram allows no code inside bold, italic or strike
                    out.close()
                current = []
                out.add(Code(str(item.get("text") or "")))
                continue
            wanted = [style for flag, style in _STYLES if flags.get(flag)]
            keep = 0
            while keep < len(current) and keep < len(wanted) and current[keep] == wanted[keep]:
                keep += 1
            for _ in current[keep:]:
                out.close()
            for style in wanted[keep:]:
                out.open_styled(style)
            current = wanted
            self.atom(item, out)
        return out.nodes()

    def atom(self, item: dict[str, Any], out: Builder) -> None:
        if item.get("type") == "link":
            url, label = str(item.get("url") or ""), str(item.get("text") or "")
            if url.partition(":")[0].lower() in _LINK_SCHEMES:
                out.open_link(url)
                out.text(label or url)
                out.close()
                return
        out.text(self.plain(item))

    def plain(self, item: dict[str, Any]) -> str:
        """An inline element as the text it shows (inside code blocks, and for everything but links)."""
        kind = item.get("type")
        if kind == "user":
            user_id = str(item.get("user_id") or "")
            return "@" + (self.user_name(user_id) or user_id).removeprefix("@")
        if kind == "channel":
            channel_id = str(item.get("channel_id") or "")
            return "#" + (self.channel_name(channel_id) or channel_id).removeprefix("#")
        if kind == "usergroup":
            return "@" + str(item.get("usergroup_id") or "")
        if kind == "team":
            return "@" + str(item.get("team_id") or "")
        if kind == "broadcast":
            return "@" + str(item.get("range") or "")
        if kind == "emoji":
            return _emoji_text(item)
        if kind == "date":
            return str(item.get("fallback") or "")
        if kind == "color":
            return str(item.get("value") or "")
        if kind == "link":
            url, label = str(item.get("url") or ""), str(item.get("text") or "")
            scheme, _, rest = url.partition(":")
            shown = rest if scheme.lower() in ("mailto", "tel") else url
            return shown if not label or label == shown else f"{label} ({shown})"
        return str(item.get("text") or "")


def _emoji_text(item: dict[str, Any]) -> str:
    name, _, tone = str(item.get("name") or "").partition("::skin-tone-")  # "wave::skin-tone-2"
    tone = tone or str(item.get("skin_tone") or "")
    try:
        if code := item.get("unicode"):
            return "".join(chr(int(point, 16)) for point in str(code).split("-"))
    except ValueError:
        pass  # not code points: use the name
    return _emoji(name, tone or None) or f":{name}:"

