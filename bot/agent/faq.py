"""The built-in agent: answers from a Markdown FAQ by fuzzy question matching, else hands off."""

from __future__ import annotations

import html
import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from rapidfuzz import fuzz

from bot.agent.base import AgentReply, AgentRequest

log = logging.getLogger(__name__)

DEFAULT_HOLDING_MESSAGE = "Let me check that with a colleague, they will reply here shortly."
HANDOFF_REASON = "no confident answer in the knowledge base"

_QUESTION = re.compile(r"^##(?!#)\s+(.*?)(?:\s+#+)?\s*$")
_TOP_HEADING = re.compile(r"^#(?!#)\s")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LINK_SCHEMES = ("http", "https", "tg")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
# Words that say nothing about which question is meant. Greetings and thanks are here too, so a
# message made only of them has no content left and cannot match anything.
_STOPWORDS_TEXT = """
a about am an and any are as at be been but by can could did do does doing for from get got had has have
how i if in into is it its just me my of on or our please should so that the their them then there these
this to too us was we were what when where which who why will with would you your want need like know
tell let also still yet already really very much many some im ive id youre dont cant wont isnt doesnt
didnt hasnt havent wasnt arent couldnt shouldnt wouldnt don won isn doesn didn hasn haven wasn aren
couldn shouldn wouldn hi hello hey hiya yo thanks thank thx ty cheers ok okay good morning afternoon
evening bye goodbye dear team sir madam there
el la los las un una unos unas de del que y o en es por para con mi mis tu como cual donde cuando hola
gracias buenos buenas dias tardes noches hay se me lo le
der die das den dem des ein eine einen und oder ist sind ich mein meine meinen wie was wo wann mit zu
von fur auf bei hallo danke guten tag morgen bitte es
le les des du et est je mon ma mes comment quel quelle ou quand avec pour sur bonjour salut merci svp
ce une il vous nous
и в во не на я как что мой моя мое мои это с со по для где когда ли а но же у к о от за из привет
спасибо здравствуйте добрый день пожалуйста вы мне меня
"""


def _normalize(text: str) -> str:
    """Casefolded, accents stripped, punctuation turned into spaces: the form all matching uses."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join("".join(char if char.isalnum() else " " for char in bare).split())


_STOPWORDS = frozenset(_normalize(_STOPWORDS_TEXT).split())


def _content_words(normalized: str) -> list[str]:
    # Single letters are mostly the remains of contractions ("can't" -> "can t").
    return [word for word in normalized.split() if word not in _STOPWORDS and len(word) > 1]


def _same_word(a: str, b: str) -> bool:
    """Typo and inflection tolerant: "pasword" ~ "password", "refunds" ~ "refund", "ship" ~ "shipping"."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return a.startswith(b) or b.startswith(a) or fuzz.ratio(a, b) >= 80


class KnowledgeBaseError(Exception):
    """The knowledge base file cannot be used; `reason` says why in words an operator can act on."""

    def __init__(self, path: Path | None, reason: str) -> None:
        super().__init__(f"knowledge base {path}: {reason}" if path else f"knowledge base: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """One FAQ entry: its phrasings (the first is the main one) and its Markdown answer."""

    questions: tuple[str, ...]
    answer: str
    answer_html: str


@dataclass(frozen=True)
class Match:
    """How well a message fits one entry: its main question, its answer, and a score from 0 to 1."""

    question: str
    answer: str
    score: float
    answer_html: str = ""


def parse_knowledge_base(text: str) -> list[Entry]:
    """Entries from Markdown: each `## ` heading is a question (`a | b` lists alternatives) answered by
    the text below it. `# ` headings and anything before the first `## ` are ignored."""
    entries: list[Entry] = []
    questions: list[str] | None = None
    body: list[str] = []
    fenced = False

    def finish() -> None:
        answer = "\n".join(body).strip("\n")
        if questions and answer.strip():
            entries.append(Entry(tuple(questions), answer, markdown_to_html(answer)))

    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _QUESTION.match(line)
        if heading:
            finish()
            questions = [q for part in heading[1].split(" | ") if (q := part.strip(" \t|"))]
            body = []
        elif questions is not None and (fenced or not _TOP_HEADING.match(line)):
            body.append(line)
    finish()
    return entries


def markdown_to_html(markdown: str) -> str:
    """Markdown to neutral HTML: emphasis, code, links, quotes; lists and headings become plain lines."""
    return _Renderer().blocks(SyntaxTreeNode(_MARKDOWN.parse(markdown)).children, 0).strip()


class _Renderer:
    def __init__(self) -> None:
        self.in_quote = False

    def blocks(self, nodes: list[SyntaxTreeNode], depth: int, separator: str = "\n\n") -> str:
        return separator.join(part for node in nodes if (part := self.block(node, depth)))

    def block(self, node: SyntaxTreeNode, depth: int) -> str:
        if node.type == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if node.type == "heading":
            return f"<b>{self.inline(node.children[0])}</b>" if node.children else ""
        if node.type in ("bullet_list", "ordered_list"):
            number = int(node.attrs.get("start", 1) or 1)
            items = []
            for offset, item in enumerate(node.children):
                marker = f"{number + offset}. " if node.type == "ordered_list" else "• "
                items.append("  " * depth + marker + self.blocks(item.children, depth + 1, "\n"))
            return "\n".join(items)
        if node.type == "blockquote":
            if self.in_quote:  # Telegram cannot nest quotes
                return self.blocks(node.children, depth, "\n")
            self.in_quote = True
            inner = self.blocks(node.children, depth, "\n")
            self.in_quote = False
            return f"<blockquote>{inner}</blockquote>"
        if node.type in ("fence", "code_block"):
            code = html.escape(node.content.rstrip("\n"), quote=False)
            language = (node.info or "").split()[0] if node.type == "fence" and node.info else ""
            if self.in_quote:
                return f"<code>{code}</code>"
            if language:
                return f'<pre><code class="language-{html.escape(language)}">{code}</code></pre>'
            return f"<pre>{code}</pre>"
        if node.type == "hr":
            return "――――――――"
        return self.blocks(node.children, depth)

    def inline(self, node: SyntaxTreeNode, styled: bool = False) -> str:
        parts: list[str] = []
        for child in node.children:
            kind = child.type
            if kind == "text":
                parts.append(html.escape(child.content, quote=False))
            elif kind == "softbreak":
                parts.append(" ")  # as in any Markdown: wrapped source lines flow together
            elif kind == "hardbreak":
                parts.append("\n")
            elif kind in ("strong", "em", "s"):
                tag = {"strong": "b", "em": "i", "s": "s"}[kind]
                parts.append(f"<{tag}>{self.inline(child, True)}</{tag}>")
            elif kind == "code_inline":
                code = html.escape(child.content, quote=False)
                parts.append(code if styled else f"<code>{code}</code>")  # Telegram: no code inside b/i/s/a
            elif kind == "link":
                parts.append(self.link(str(child.attrs.get("href", "")), child))
            else:
                parts.append(self.inline(child, styled))
        return "".join(parts)

    def link(self, href: str, node: SyntaxTreeNode) -> str:
        label = self.inline(node, True)
        scheme = href.partition(":")[0].lower()
        if scheme in _LINK_SCHEMES:
            return f'<a href="{html.escape(href)}">{label}</a>'
        address = html.escape(href.partition(":")[2] if scheme == "mailto" else href, quote=False)
        return label if not address or address == label else f"{label} ({address})"


@dataclass(frozen=True)
class _Phrasing:
    normalized: str
    words: tuple[str, ...]


class _Index:
    """Entries with their phrasings pre-normalized, and how rare each word is across the entries."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.phrasings = [[_Phrasing(n, tuple(_content_words(n))) for n in map(_normalize, e.questions)]
                          for e in entries]
        vocabulary = [{w for p in phrasings for w in p.words} for phrasings in self.phrasings]
        used_by = Counter(w for words in vocabulary for w in words)
        self.weights = {w: 1.0 + math.log(len(entries) / count) for w, count in used_by.items()}

    def weight(self, word: str) -> float:
        return self.weights.get(word, 1.0)

    def score(self, query: _Phrasing, phrasing: _Phrasing) -> float:
        if not query.words or not phrasing.words:
            return 0.0  # nothing but greetings, thanks or filler words: never a confident match
        # Keyword overlap, words that few entries use weighing more. Covering the question's words is
        # what counts (one shared word with a two-word question is not enough); extra words in the
        # message cost little, as customers write long. Character similarity then refines the score.
        covered = sum(self.weight(q) for q in phrasing.words if any(_same_word(q, w) for w in query.words))
        if not covered:
            return 0.0
        found = sum(self.weight(w) for w in query.words if any(_same_word(w, q) for q in phrasing.words))
        recall = covered / sum(self.weight(q) for q in phrasing.words)
        precision = found / sum(self.weight(w) for w in query.words)
        token_set = fuzz.token_set_ratio(" ".join(query.words), " ".join(phrasing.words)) / 100
        whole = fuzz.WRatio(query.normalized, phrasing.normalized) / 100
        return round(recall * math.pow(precision, 0.3) * (0.7 + 0.18 * token_set + 0.12 * whole), 4)

    def search(self, question: str, limit: int) -> list[Match]:
        normalized = _normalize(question)
        query = _Phrasing(normalized, tuple(_content_words(normalized)))
        matches = [Match(entry.questions[0], entry.answer, max(self.score(query, p) for p in phrasings),
                         entry.answer_html)
                   for entry, phrasings in zip(self.entries, self.phrasings, strict=True)]
        matches.sort(key=lambda m: -m.score)
        return matches[:limit]


class FaqAgent:
    """Answers from a Markdown knowledge base, re-read whenever the file changes; hands off otherwise."""

    def __init__(self, path: Path, *, threshold: float = 0.55,
                 holding_message: str = DEFAULT_HOLDING_MESSAGE) -> None:
        self.path: Path | None = Path(path)
        self.threshold = threshold
        self.holding_message = holding_message
        self._index = _Index([])
        self._stamp: tuple[int, int] | None = None
        self.load()

    @classmethod
    def from_text(cls, text: str, *, threshold: float = 0.55,
                  holding_message: str = DEFAULT_HOLDING_MESSAGE) -> FaqAgent:
        agent = cls.__new__(cls)
        agent.path, agent.threshold, agent.holding_message = None, threshold, holding_message
        agent._index, agent._stamp = _Index(parse_knowledge_base(text)), None
        return agent

    @property
    def entries(self) -> list[Entry]:
        return self._index.entries

    def load(self) -> None:
        """(Re)read the file; raises KnowledgeBaseError if it is missing or unreadable."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise KnowledgeBaseError(self.path, "file not found") from None
        except IsADirectoryError:
            raise KnowledgeBaseError(self.path, "is a directory, not a Markdown file") from None
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise KnowledgeBaseError(self.path, reason) from None
        except OSError as exc:
            raise KnowledgeBaseError(self.path, exc.strerror or str(exc)) from None
        self._index = _Index(parse_knowledge_base(text))
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        log.info("knowledge base %s: %d entries", self.path, len(self._index.entries))

    def reload_if_changed(self) -> bool:
        """Reload when the file's mtime or size changed; a broken edit keeps the last good version."""
        if self.path is None:
            return False
        try:
            stat = self.path.stat()
        except OSError as exc:
            log.warning("knowledge base %s: cannot check for changes (%s); keeping what was loaded",
                        self.path, exc)
            return False
        if (stat.st_mtime_ns, stat.st_size) == self._stamp:
            return False
        try:
            self.load()
        except KnowledgeBaseError as exc:
            log.warning("%s; keeping the previous version", exc)
            self._stamp = (stat.st_mtime_ns, stat.st_size)  # do not retry (and log) on every message
            return False
        return True

    def search(self, question: str, limit: int = 3) -> list[Match]:
        return self._index.search(question, limit)

    async def reply(self, request: AgentRequest) -> AgentReply:
        self.reload_if_changed()
        matches = self.search(request.last_customer_text, limit=1)
        score = matches[0].score if matches else 0.0
        if matches and score >= self.threshold:
            return AgentReply(text=matches[0].answer_html, confidence=score)
        return AgentReply(text=html.escape(self.holding_message, quote=False), confidence=score,
                          handoff_reason=HANDOFF_REASON)
