"""The markup tree as Slack mrkdwn for posting; every piece of outside text is escaped by bot.core.text.quote."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core import markup
from bot.core.markup import Code, Link, Node, Pre, Quote, Styled, Text
from bot.core.text import quote
from operator_bridge.mrkdwn_in import _SCHEME, _SHORTCODE, ZWSP, _emoji, _is_word

_MARKERS = {"b": "*", "i": "_", "s": "~"}  # Slack has no underline or spoiler: their text shows plain


def _escape_text(text: str) -> str:
    """Slack-escape literal text and guard every marker Slack (or mrkdwn_to_html) could take as syntax."""
    escaped = quote(text)
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
    escaped = quote(text)
    out = [char + (ZWSP if char == "`" and not escaped[pos + 1:pos + 2].isalnum() else "")
           for pos, char in enumerate(escaped)]
    return (ZWSP if escaped.startswith("`") else "") + "".join(out)


def _pre(text: str) -> str:
    body = re.sub("`(?=`)", "`" + ZWSP, quote(text))
    return f"```\n{body}{ZWSP if body.endswith('`') else ''}\n```"


_Token = tuple[str, str]  # (kind, value): t text, o/c marker, code, link (any inline raw), pre, quote


def _tokens(nodes: Iterable[Node], out: list[_Token]) -> list[_Token]:
    for child in nodes:
        if isinstance(child, Text):
            out += [("t", _escape_text(run)) for run in re.findall(r"\n|[^\S\n]+|\S+", child.text)]
        elif isinstance(child, Styled) and child.style in _MARKERS:
            out.append(("o", _MARKERS[child.style]))
            _tokens(child.children, out).append(("c", _MARKERS[child.style]))
        elif isinstance(child, (Code, Pre)):
            if not child.text.strip():
                _tokens([Text(child.text)], out)  # Slack has no blank code: keep the spaces
            elif isinstance(child, Pre) or "\n" in child.text:
                out.append(("pre", _pre(child.text)))
            else:
                out.append(("code", child.text))
        elif isinstance(child, Link):
            out.append(_link(child.href, markup.to_plain(child.children)))
        elif isinstance(child, Quote):
            inner = _render(_tokens(child.children, []))
            out.append(("quote", "\n".join(">" + (" " + line if line else "") for line in inner.split("\n"))))
        else:
            _tokens(child.children, out)
    return out


def _link(href: str, label: str) -> _Token:
    scheme = href.partition(":")[0].lower() if _SCHEME.match(href) else ""
    if scheme not in ("http", "https", "mailto"):
        return ("t", _escape_text(label))
    target = quote(href).replace("|", "%7C")
    label = " ".join(label.splitlines())  # a Slack label is one line
    if not label.strip() or label == href or (scheme == "mailto" and label == href[7:]):
        return ("link", f"<{target}>" if scheme != "mailto" else f"<{target}|{quote(href[7:])}>")
    return ("link", f"<{target}|{quote(label)}>")


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


def to_mrkdwn(nodes: Iterable[Node]) -> str:
    """The tree as Slack mrkdwn for chat.postMessage `text`."""
    return _guard_shortcodes(_render(_tokens(nodes, [])))


def html_to_mrkdwn(html_text: str) -> str:
    """Stored neutral HTML as Slack mrkdwn."""
    return to_mrkdwn(markup.parse_html(html_text))
