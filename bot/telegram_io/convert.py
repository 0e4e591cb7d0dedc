"""Splitting neutral HTML into Telegram-sized messages, counted in UTF-16 code units as Telegram counts."""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from html.parser import HTMLParser

MESSAGE_LIMIT = 4096
_VOID_TAGS = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link"})
# Cut preferences, best first; the separator a cut is made at is dropped from both chunks.
_SEPARATORS = (
    re.compile(r"\n(?:[^\S\n]*\n)+"),  # a paragraph break: blank line(s); indentation after it is kept
    re.compile(r"\n"),
    re.compile(r"[^\S\n]+"),
)
# Cutting before one of these would tear a visible character (emoji sequence, accent) in two.
_GRAPHEME_EXTENDERS = re.compile("[\u200d\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
_MAX_BACKOFF = 32


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what Telegram counts for message limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Element:
    serial: int  # keeps two separate, adjacent <b> elements separate when reopened
    tag: str
    attrs: tuple[tuple[str, str | None], ...]

    def start_tag(self) -> str:
        attrs = "".join(f" {name}" if value is None else f' {name}="{html.escape(value)}"'
                        for name, value in self.attrs)
        return f"<{self.tag}{attrs}>"


class _Runs(HTMLParser):
    """Flattens HTML into text runs, each with the elements that enclose it (outermost first)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = []
        self.runs: list[tuple[str, tuple[_Element, ...]]] = []
        self.serial = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID_TAGS:
            self.serial += 1
            self.stack.append(_Element(self.serial, tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # a self-closed element holds no text: nothing to split or to show

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.runs.append((data, tuple(self.stack)))


def _render(runs: list[tuple[str, tuple[_Element, ...]]], starts: list[int], begin: int, end: int) -> str:
    """The HTML for visible text [begin, end): tags open at either edge are closed and reopened."""
    out: list[str] = []
    current: tuple[_Element, ...] = ()
    for index in range(max(bisect_right(starts, begin) - 1, 0), len(runs)):
        text, stack = runs[index]
        if starts[index] >= end:
            break
        piece = text[max(begin - starts[index], 0):end - starts[index]]
        if not piece:
            continue
        common = 0
        while common < min(len(current), len(stack)) and current[common] == stack[common]:
            common += 1
        out += [f"</{element.tag}>" for element in reversed(current[common:])]
        out += [element.start_tag() for element in stack[common:]]
        out.append(html.escape(piece, quote=False))
        current = stack
    out += [f"</{element.tag}>" for element in reversed(current)]
    return "".join(out)


def _tears(text: str, cut: int) -> bool:
    before, after = text[cut - 1], text[cut]
    return (before == "\u200d" or bool(_GRAPHEME_EXTENDERS.match(after))
            or unicodedata.category(after).startswith("M"))


def _choose_cut(text: str, units: list[int], start: int, end: int, limit: int) -> tuple[int, int]:
    """Where to end the chunk that starts at `start` and may reach `end`; returns (cut, next start)."""
    floor = units[start] + limit // 2  # a soft cut that leaves a tiny chunk is worse than a hard cut
    for separator in _SEPARATORS:
        best: re.Match[str] | None = None
        for match in separator.finditer(text, start + 1):
            if match.start() > end:
                break
            if units[match.start()] >= floor:
                best = match
        if best is not None:
            return best.start(), best.end()
    cut = end
    while cut > max(start + 1, end - _MAX_BACKOFF) and _tears(text, cut):
        cut -= 1
    return (cut, cut) if not _tears(text, cut) else (end, end)


def split_html(html_text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split neutral HTML into chunks of at most `limit` visible UTF-16 code units, each valid on its own.

    Cuts go at the last paragraph break, else line break, else run of spaces that leaves the chunk at
    least half full, else at the limit (not inside a surrogate pair or, where avoidable, a grapheme).
    Guarantee: the chunks' visible texts are, in order, non-overlapping pieces of the input's visible
    text, and only whitespace lies between and around them (the separator at each soft cut is dropped;
    a hard cut drops nothing). Chunks with no visible non-whitespace text are not returned, so an
    empty or blank input gives []. An input that already fits is returned unchanged.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units (one astral character)")
    parser = _Runs()
    parser.feed(html_text)
    parser.close()
    runs = parser.runs
    text = "".join(run for run, _ in runs)
    if not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [html_text]
    starts: list[int] = []
    position = 0
    for run, _ in runs:
        starts.append(position)
        position += len(run)
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = bisect_right(units, units[start] + limit) - 1
        if end >= len(text):
            cut = resume = len(text)
        else:
            cut, resume = _choose_cut(text, units, start, end, limit)
        if text[start:cut].strip():
            chunks.append(_render(runs, starts, start, cut))
        start = resume
    return chunks
