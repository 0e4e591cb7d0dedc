"""Slack mrkdwn (as Slack delivers it in events) to the markup tree."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby

import emoji

from bot.core import markup
from bot.core.markup import Builder, Code, Link, Node, Pre, Quote, Style, Text

# Slack has no escape syntax; a zero-width space next to a marker keeps it literal in Slack (its
# boundary rules do not count it as whitespace or punctuation), and we drop such spaces on the way in.
ZWSP = "\u200b"
_ESCAPE_SPACE = re.compile(f"{ZWSP}(?=[*_~`:])|(?<=[*_~`:]){ZWSP}")
_EMPHASIS: dict[str, Style] = {"*": "b", "_": "i", "~": "s"}
_ANGLE = re.compile(r"<([^<>]*)>")
_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_SHORTCODE = re.compile(r":([a-z0-9_+'\-]+):(?::skin-tone-([2-6]):)?")
_SKIN_TONES = {"2": "\U0001f3fb", "3": "\U0001f3fc", "4": "\U0001f3fd", "5": "\U0001f3fe", "6": "\U0001f3ff"}
_SLACK_ONLY_EMOJI = {"simple_smile": "🙂", "white_square": "⬜", "black_square": "⬛"}
_LINK_SCHEMES = ("http", "https", "tg")
_SPECIAL_MENTIONS = ("here", "channel", "everyone", "group")


def _no_name(_: str) -> str | None:
    return None


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


# --------------------------------------------------------------------------- Slack mrkdwn -> tree


@dataclass(frozen=True)
class _Atom:
    """A piece already resolved to text: a link, mention, emoji, code span or pre block."""

    kind: str  # "text", "link", "code" or "pre"
    text: str
    href: str = ""

    def node(self, in_quote: bool) -> Node:
        if self.kind == "link":
            return Link(self.href, (Text(self.text),))
        if self.kind == "code" or (self.kind == "pre" and in_quote):
            return Code(self.text)  # Telegram allows no pre inside a blockquote
        if self.kind == "pre":
            return Pre(self.text)
        return Text(self.text)


@dataclass
class _Pending:
    style: Style | None  # None: the same style is already open outside it, so it adds nothing
    opened: bool = False  # opened in the builder (lazily, once text arrives)


@dataclass
class _Writer:
    """Builds a line's nodes, opening styles lazily so empty ones vanish and code never sits inside b/i/s."""

    in_quote: bool
    out: Builder = field(default_factory=Builder)
    stack: list[_Pending] = field(default_factory=list)

    def open(self, style: Style) -> None:
        self.stack.append(_Pending(None if any(entry.style == style for entry in self.stack) else style))

    def close(self) -> None:
        if self.stack.pop().opened:
            self.out.close()

    def _flush(self) -> None:
        for entry in self.stack:
            if entry.style and not entry.opened:
                self.out.open_styled(entry.style)
                entry.opened = True

    def text(self, text: str) -> None:
        if text:
            self._flush()
            self.out.text(text)

    def atom(self, atom: _Atom) -> None:
        if atom.kind in ("code", "pre"):  # b/i/s may not contain them: close around, reopen later
            for entry in reversed(self.stack):
                if entry.opened:
                    self.out.close()
                    entry.opened = False
        else:
            self._flush()
        self.out.add(atom.node(self.in_quote))

    def nodes(self) -> tuple[Node, ...]:
        return self.out.nodes()


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

    def parse(self) -> tuple[Node, ...]:
        work, atoms = self._pre_blocks(self.work, self.atoms)
        lines: list[tuple[bool, tuple[Node, ...]]] = []
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
        out = Builder()
        for number, (quoted, group_lines) in enumerate(groupby(lines, key=lambda line: line[0])):
            out.text("\n" if number else "")
            body = Builder()
            for offset, (_, nodes) in enumerate(group_lines):
                body.text("\n" if offset else "")
                for node in nodes:
                    body.add(node)
            group = body.nodes()
            if quoted and any(not isinstance(node, Text) or node.text.strip() for node in group):
                out.add(Quote(group))
            else:
                for node in group:
                    out.add(node)
        return out.nodes()

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

    def _inline(self, line: str, atoms: list[_Atom], in_quote: bool) -> tuple[Node, ...]:
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
        return writer.nodes()


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


def mrkdwn_to_markup(text: str, *, user_name: Callable[[str], str | None] = _no_name,
                     channel_name: Callable[[str], str | None] = _no_name) -> tuple[Node, ...]:
    """The `text` of a Slack message event as a markup tree."""
    return _MrkdwnParser(text, user_name, channel_name).parse()


def mrkdwn_to_html(text: str, *, user_name: Callable[[str], str | None] = _no_name,
                   channel_name: Callable[[str], str | None] = _no_name) -> str:
    """The `text` of a Slack message event as neutral HTML that Telegram accepts."""
    return markup.to_html(mrkdwn_to_markup(text, user_name=user_name, channel_name=channel_name))
