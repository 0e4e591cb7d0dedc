"""Neutral HTML to Slack mrkdwn for posting, and to plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from operator_bridge.mrkdwn_in import (
    _EMPHASIS,
    _SCHEME,
    _SHORTCODE,
    _TAG_ALIASES,
    _VOID_TAGS,
    ZWSP,
    _emoji,
    _is_word,
)


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str | None]
    source_tag: str = ""
    children: list[_Element | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_data("\n")
            return
        named = dict(attrs)
        spoiler = tag == "span" and "tg-spoiler" in (named.get("class") or "")
        element = _Element("tg-spoiler" if spoiler else _TAG_ALIASES.get(tag, tag), named, tag)
        self.stack[-1].children.append(element)
        if tag not in _VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        depth = len(self.stack)
        self.handle_starttag(tag, attrs)
        del self.stack[depth:]

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].source_tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data  # one text node per run keeps escaping decisions local and exact
        else:
            children.append(data)


def _parse_html(markup: str) -> _Element:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def _walk_text(node: _Element) -> Iterator[str]:
    pending: list[_Element | str] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        else:
            pending.extend(reversed(item.children))


def plain_text(html_text: str) -> str:
    """The visible text of neutral HTML, without any markup."""
    return "".join(_walk_text(_parse_html(html_text)))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_text(text: str) -> str:
    """Slack-escape literal text and guard every marker Slack (or mrkdwn_to_html) could take as syntax."""
    escaped = _slack_escape(text)
    out: list[str] = []
    for pos, char in enumerate(escaped):
        if char not in "*_~`":
            out.append(char)
            continue
        before = escaped[pos - 1] if pos else " "
        after = escaped[pos + 1] if pos + 1 < len(escaped) else " "
        out += [ZWSP if not _is_word(before) else "", char, ZWSP if not _is_word(after) else ""]
    return "".join(out)


def _escape_code(text: str) -> str:
    # A backtick the parser could take as the closer, or that would lengthen the opener, is guarded.
    escaped = _slack_escape(text)
    out = [char + (ZWSP if char == "`" and not escaped[pos + 1:pos + 2].isalnum() else "")
           for pos, char in enumerate(escaped)]
    return (ZWSP if escaped.startswith("`") else "") + "".join(out)


def _pre(text: str) -> str:
    body = re.sub("`(?=`)", "`" + ZWSP, _slack_escape(text))
    return f"```\n{body}{ZWSP if body.endswith('`') else ''}\n```"


_Token = tuple[str, str]  # (kind, value): t text, o/c marker, code, link (any inline raw), pre, quote


def _tokens(node: _Element, out: list[_Token]) -> list[_Token]:
    for child in node.children:
        if isinstance(child, str):
            out += [("t", _escape_text(run)) for run in re.findall(r"\n|[^\S\n]+|\S+", child)]
        elif child.tag in _EMPHASIS.values():
            marker = next(key for key, tag in _EMPHASIS.items() if tag == child.tag)
            out.append(("o", marker))
            _tokens(child, out).append(("c", marker))
        elif child.tag in ("code", "pre"):
            text = "".join(_walk_text(child))
            if not text.strip():
                _tokens(_Element("", {}, children=[text]), out)  # Slack has no blank code: keep the spaces
            elif child.tag == "pre" or "\n" in text:
                out.append(("pre", _pre(text)))
            else:
                out.append(("code", text))
        elif child.tag == "a":
            out.append(_link(child.attrs.get("href") or "", "".join(_walk_text(child))))
        elif child.tag == "blockquote":
            inner = _render(_tokens(child, []))
            out.append(("quote", "\n".join(">" + (" " + line if line else "") for line in inner.split("\n"))))
        else:
            _tokens(child, out)
    return out


def _link(href: str, label: str) -> _Token:
    scheme = href.partition(":")[0].lower() if _SCHEME.match(href) else ""
    if scheme not in ("http", "https", "mailto"):
        return ("t", _escape_text(label))
    target = _slack_escape(href).replace("|", "%7C")
    label = " ".join(label.splitlines())  # a Slack label is one line
    if not label.strip() or label == href or (scheme == "mailto" and label == href[7:]):
        return ("link", f"<{target}>" if scheme != "mailto" else f"<{target}|{_slack_escape(href[7:])}>")
    return ("link", f"<{target}|{_slack_escape(label)}>")


def _edge_char(tokens: list[_Token], start: int, step: int) -> str:
    """The first visible character from `start` going in `step` direction, skipping markers."""
    index = start
    while 0 <= index < len(tokens):
        kind, value = tokens[index]
        if kind == "code":
            return "`"
        if kind in ("pre", "quote"):
            return "\n"
        if kind not in ("o", "c") and value:
            return value[0] if step > 0 else value[-1]
        index += step
    return " "


def _render(tokens: list[_Token]) -> str:
    # Slack emphasis cannot cross a line or a block, so close and reopen pairs around them.
    flat: list[_Token] = []
    opened: list[str] = []
    for kind, value in tokens:
        if kind == "o":
            opened.append(value)
        elif kind == "c":
            opened.pop()
        if (kind == "t" and value == "\n") or kind in ("pre", "quote"):
            flat += [("c", m) for m in reversed(opened)] + [(kind, value)] + [("o", m) for m in opened]
        else:
            flat.append((kind, value))
    # Slack wants `*x*`, not `* x *`: move whitespace out of pairs.
    moved = True
    while moved:
        moved = False
        for index in range(len(flat) - 1):
            left, right = flat[index], flat[index + 1]
            if (left[0] == "o" and right[0] == "t" and right[1].isspace()) or (
                    left[0] == "t" and left[1].isspace() and right[0] == "c"):
                flat[index], flat[index + 1] = right, left
                moved = True
    # Code first, as emphasis checks need its final edges; unframing one can expose a neighbour to a word.
    changed = True
    while changed:
        changed = False
        for index, (kind, value) in enumerate(flat):
            if kind == "code" and (_is_word(_edge_char(flat, index - 1, -1))
                                   or _is_word(_edge_char(flat, index + 1, 1))):
                flat[index] = ("t", _escape_text(value))
                changed = True
    flat = [("link", f"`{_escape_code(v)}`") if k == "code" else (k, v) for k, v in flat]
    keep = [True] * len(flat)
    stack: list[int] = []
    for index, (kind, value) in enumerate(flat):
        if kind == "o":
            stack.append(index)
        elif kind == "c":
            start = stack.pop()
            first, last = _edge_char(flat, start + 1, 1), _edge_char(flat, index - 1, -1)
            empty = all(k in ("o", "c") or not v for k, v in flat[start + 1:index])
            nested = any(flat[outer][1] == value for outer in stack)
            if (empty or nested or first.isspace() or last.isspace()
                    or _is_word(_edge_char(flat, start - 1, -1)) or _is_word(_edge_char(flat, index + 1, 1))):
                keep[start] = keep[index] = False
    out: list[str] = []
    tail = "\n"
    after_quote = False
    for index, (kind, value) in enumerate(flat):
        if kind in ("o", "c") and not keep[index]:
            continue
        if kind == "t" and tail == "\n" and value.startswith("&gt;"):
            value = ZWSP + value  # a literal ">" opening a line would quote it
        if (kind == "quote" and tail != "\n") or (after_quote and not value.startswith("\n")):
            value = "\n" + value  # a quote must start a line, and what follows it must not join it
        after_quote = kind == "quote" or (after_quote and not value)
        if value:
            out.append(value)
            tail = value[-1]
    return "".join(out)


def _guard_shortcodes(mrkdwn: str) -> str:
    """Break every colon that would start a known emoji shortcode, overlapping ones too (":a:smile:")."""
    parts = re.split(r"(<[^<>]*>)", mrkdwn)  # link targets must stay intact
    for index in range(0, len(parts), 2):
        text = parts[index]
        if ":" in text:
            parts[index] = "".join(
                char + ZWSP if char == ":" and (code := _SHORTCODE.match(text, pos)) and _emoji(code[1], None)
                else char for pos, char in enumerate(text))
    return "".join(parts)


def html_to_mrkdwn(html_text: str) -> str:
    """Convert neutral HTML to Slack mrkdwn for chat.postMessage `text`."""
    return _guard_shortcodes(_render(_tokens(_parse_html(html_text), [])))
