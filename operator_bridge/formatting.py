"""Slack mrkdwn to and from neutral HTML (the Telegram HTML subset Baton carries), and plain text."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser

import emoji

# Slack has no escape syntax; a zero-width space next to a marker keeps it literal in Slack (its
# boundary rules do not count it as whitespace or punctuation), and we drop such spaces on the way in.
ZWSP = "\u200b"
_ESCAPE_SPACE = re.compile(f"{ZWSP}(?=[*_~`:])|(?<=[*_~`:]){ZWSP}")
_EMPHASIS = {"*": "b", "_": "i", "~": "s"}
_ANGLE = re.compile(r"<([^<>]*)>")
_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_SHORTCODE = re.compile(r":([a-z0-9_+'\-]+):(?::skin-tone-([2-6]):)?")
_SKIN_TONES = {"2": "\U0001f3fb", "3": "\U0001f3fc", "4": "\U0001f3fd", "5": "\U0001f3fe", "6": "\U0001f3ff"}
_SLACK_ONLY_EMOJI = {"simple_smile": "🙂", "white_square": "⬜", "black_square": "⬛"}
_LINK_SCHEMES = ("http", "https", "tg")
_SPECIAL_MENTIONS = ("here", "channel", "everyone", "group")
_TAG_ALIASES = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}
_VOID_TAGS = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link"})


def _no_name(_: str) -> str | None:
    return None


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _slack_unescape(text: str) -> str:
    return _SLACK_ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m[1]], text)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == ZWSP


def _drop_escapes(text: str) -> str:
    return _ESCAPE_SPACE.sub("", text)


@lru_cache(maxsize=2048)
def _emoji(name: str, tone: str | None) -> str | None:
    found = _SLACK_ONLY_EMOJI.get(name) or emoji.emojize(f":{name}:", language="alias")
    if found == f":{name}:":
        return None
    return found.removesuffix("\ufe0f") + _SKIN_TONES[tone] if tone else found


# --------------------------------------------------------------------------- Slack mrkdwn -> HTML


@dataclass(frozen=True)
class _Atom:
    """A piece already resolved to text: a link, mention, emoji, code span or pre block."""

    kind: str  # "text", "link", "code" or "pre"
    text: str
    href: str = ""

    def render(self, in_quote: bool) -> str:
        if self.kind == "link":
            return f'<a href="{html.escape(self.href)}">{_esc(self.text)}</a>'
        if self.kind == "code" or (self.kind == "pre" and in_quote):
            return f"<code>{_esc(self.text)}</code>"  # Telegram allows no pre inside a blockquote
        if self.kind == "pre":
            return f"<pre>{_esc(self.text)}</pre>"
        return _esc(self.text)


@dataclass
class _Writer:
    """Emits inline HTML, opening tags lazily so empty pairs vanish and code never sits inside b/i/s."""

    in_quote: bool
    parts: list[str] = field(default_factory=list)
    stack: list[list[str | bool]] = field(default_factory=list)  # [tag or "", emitted]

    def open(self, tag: str) -> None:
        self.stack.append(["" if any(entry[0] == tag for entry in self.stack) else tag, False])

    def close(self) -> None:
        tag, emitted = self.stack.pop()
        if tag and emitted:
            self.parts.append(f"</{tag}>")

    def _flush(self) -> None:
        for entry in self.stack:
            if entry[0] and not entry[1]:
                self.parts.append(f"<{entry[0]}>")
                entry[1] = True

    def text(self, text: str) -> None:
        if text:
            self._flush()
            self.parts.append(_esc(text))

    def atom(self, atom: _Atom) -> None:
        if atom.kind in ("code", "pre"):  # b/i/s may not contain them: close around, reopen later
            for entry in reversed(self.stack):
                if entry[1]:
                    self.parts.append(f"</{entry[0]}>")
                    entry[1] = False
        else:
            self._flush()
        self.parts.append(atom.render(self.in_quote))


class _MrkdwnParser:
    """Works on a string where one sentinel character stands for each resolved atom, in order."""

    def __init__(self, text: str, user_name: Callable[[str], str | None],
                 channel_name: Callable[[str], str | None]) -> None:
        self.user_name, self.channel_name = user_name, channel_name
        self.sentinel = next(chr(c) for c in range(0xE000, 0x110000) if chr(c) not in text)
        pieces: list[str] = []
        self.atoms: list[_Atom] = []
        pos = 0
        for match in _ANGLE.finditer(text):
            atom = self._angle(match[1])
            if atom is None:
                continue
            pieces.append(_slack_unescape(text[pos:match.start()]) + self.sentinel)
            self.atoms.append(atom)
            pos = match.end()
        pieces.append(_slack_unescape(text[pos:]))
        self.work = "".join(pieces)

    def _angle(self, body: str) -> _Atom | None:
        target, _, label = (_slack_unescape(part) for part in body.partition("|"))
        if target.startswith("@") and len(target) > 1:
            return _Atom("text", "@" + (self.user_name(target[1:]) or label or target[1:]).removeprefix("@"))
        if target.startswith("#") and len(target) > 1:
            name = label or self.channel_name(target[1:]) or target[1:]
            return _Atom("text", "#" + name.removeprefix("#"))
        if target.startswith("!") and len(target) > 1:
            command, _, argument = target[1:].partition("^")
            if command in _SPECIAL_MENTIONS:
                return _Atom("text", "@" + command)
            if command == "subteam":
                return _Atom("text", "@" + (label or argument).removeprefix("@"))
            return _Atom("text", label or ("" if command == "date" else command))
        if not _SCHEME.match(target):
            return None
        scheme = target.partition(":")[0].lower()
        if scheme in _LINK_SCHEMES:
            return _Atom("link", label or target, target)
        shown = target.partition(":")[2] if scheme in ("mailto", "tel") else target
        return _Atom("text", shown if not label or label == shown else f"{label} ({shown})")

    def _collapse(self, work: str, atoms: list[_Atom],
                  spans: list[tuple[int, int, _Atom]]) -> tuple[str, list[_Atom]]:
        """Replace each (start, end) range of `work` by one sentinel standing for the given atom."""
        out: list[str] = []
        new_atoms: list[_Atom] = []
        pos = used = 0
        for start, end, atom in spans:
            before = work[pos:start]
            count = before.count(self.sentinel)
            out += [before, self.sentinel]
            new_atoms += [*atoms[used:used + count], atom]
            used += count + work[start:end].count(self.sentinel)
            pos = end
        out.append(work[pos:])
        new_atoms += atoms[used:]
        return "".join(out), new_atoms

    def _flatten(self, work: str, atoms: list[_Atom], first: int) -> str:
        """`work` as text, its sentinels standing for atoms[first], atoms[first + 1]..."""
        found = iter(atoms[first:])
        return "".join(next(found).text if char == self.sentinel else char for char in work)

    def parse(self) -> str:
        work, atoms = self._pre_blocks(self.work, self.atoms)
        lines: list[tuple[bool, str]] = []
        quote_rest = False
        used = 0
        for line in work.split("\n"):
            count = line.count(self.sentinel)
            line_atoms, used = atoms[used:used + count], used + count
            quoted = quote_rest
            if not quoted and line.startswith(">>>"):  # quotes the rest of the message
                quoted = quote_rest = True
                line = line[3:].removeprefix(" ")
            elif not quoted and line.startswith(">"):
                quoted = True
                line = line[1:].removeprefix(" ")
            line = line.removeprefix(ZWSP) if line.startswith(ZWSP + ">") else line
            lines.append((quoted, self._inline(line, line_atoms, quoted)))
        out: list[str] = []
        index = 0
        while index < len(lines):
            quoted = lines[index][0]
            group: list[str] = []
            while index < len(lines) and lines[index][0] == quoted:
                group.append(lines[index][1])
                index += 1
            body = "\n".join(group)
            out.append(f"<blockquote>{body}</blockquote>" if quoted and body.strip() else body)
        return "\n".join(out)

    def _pre_blocks(self, work: str, atoms: list[_Atom]) -> tuple[str, list[_Atom]]:
        spans: list[tuple[int, int, _Atom]] = []
        pos = seen = counted = 0  # seen: atoms before `counted`
        while (start := work.find("```", pos)) != -1:
            while work.startswith("`", start + 3):
                start += 1  # in a longer run the fence is its last three: "`x````" is code, then a fence
            end = work.find("```", start + 3)
            if end == -1:
                break
            inner = work[start + 3:end]
            if not inner.strip():
                pos = start + 3
                continue
            seen, counted = seen + work.count(self.sentinel, counted, start), start
            text = self._flatten(inner, atoms, seen)
            if work[work.rfind("\n", 0, start) + 1:start].startswith(">"):
                text = re.sub(r"\n> ?", "\n", text)  # a block opened in a quote carries its "> " prefixes
            text = text.removeprefix("\n").removesuffix("\n")
            spans.append((start, end + 3, _Atom("pre", _drop_escapes(text))))
            pos = end + 3
        return self._collapse(work, atoms, spans) if spans else (work, atoms)

    def _code_spans(self, line: str, atoms: list[_Atom]) -> tuple[str, list[_Atom]]:
        spans: list[tuple[int, int, _Atom]] = []
        pos = seen = counted = 0  # seen: atoms before `counted`
        while (start := line.find("`", pos)) != -1:
            if start > 0 and _is_word(line[start - 1]):
                pos = start + 1
                continue
            end = start + 1
            while (end := line.find("`", end)) != -1:
                after = line[end + 1:end + 2]
                if end > start + 1 and not (after and _is_word(after)) and line[start + 1:end].strip():
                    break
                end += 1
            if end == -1:
                break  # a later opener could only use closers this one already rejected
            seen, counted = seen + line.count(self.sentinel, counted, start), start
            text = self._flatten(line[start + 1:end], atoms, seen)
            spans.append((start, end + 1, _Atom("code", _drop_escapes(text))))
            pos = end + 1
        return self._collapse(line, atoms, spans) if spans else (line, atoms)

    def _emoji(self, line: str, atoms: list[_Atom]) -> tuple[str, list[_Atom]]:
        spans = [(m.start(), m.end(), _Atom("text", found)) for m in _SHORTCODE.finditer(line)
                 if (found := _emoji(m[1], m[2])) is not None]
        return self._collapse(line, atoms, spans) if spans else (line, atoms)

    def _inline(self, line: str, atoms: list[_Atom], in_quote: bool) -> str:
        line, atoms = self._code_spans(line, atoms)
        line, atoms = self._emoji(line, atoms)
        pairs = _emphasis_pairs(line)
        opens = {start for start, _ in pairs}
        closes = {end for _, end in pairs}
        writer = _Writer(in_quote)
        found = iter(atoms)
        run: list[str] = []
        for pos, char in enumerate(line):
            if pos in opens or pos in closes or char == self.sentinel:
                writer.text(_drop_escapes("".join(run)))
                run.clear()
                if pos in opens:
                    writer.open(_EMPHASIS[char])
                elif pos in closes:
                    writer.close()
                else:
                    writer.atom(next(found))
            else:
                run.append(char)
        writer.text(_drop_escapes("".join(run)))
        return "".join(writer.parts)


def _emphasis_pairs(line: str) -> list[tuple[int, int]]:
    """Match *, _ and ~ the way Slack does: openers after a non-word character, closers before one."""
    pairs: list[tuple[int, int]] = []
    stack: list[tuple[int, str]] = []
    open_count = dict.fromkeys(_EMPHASIS, 0)
    for pos, char in enumerate(line):
        if char not in _EMPHASIS:
            continue
        before = line[pos - 1] if pos else " "
        after = line[pos + 1] if pos + 1 < len(line) else " "
        if open_count[char] and not before.isspace() and not _is_word(after):
            index = len(stack) - 1
            while stack[index][1] != char:
                index -= 1
            if pos > stack[index][0] + 1:
                pairs.append((stack[index][0], pos))
                for _, dropped in stack[index:]:
                    open_count[dropped] -= 1
                del stack[index:]
                continue
        if not _is_word(before) and not after.isspace():
            stack.append((pos, char))
            open_count[char] += 1
    return pairs


def mrkdwn_to_html(text: str, *, user_name: Callable[[str], str | None] = _no_name,
                   channel_name: Callable[[str], str | None] = _no_name) -> str:
    """Convert the `text` of a Slack message event to neutral HTML that Telegram accepts."""
    return _MrkdwnParser(text, user_name, channel_name).parse()


# --------------------------------------------------------------------------- neutral HTML -> Slack


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
