"""The knowledge base file: Markdown, one `## ` question per entry, the answer below it, and optional
translations of the entry as `### [de] Frage` sections inside it. Problems name the line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.agent.markdown import markdown_to_html

_QUESTION = re.compile(r"^##(?!#)\s+(.*?)(?:\s+#+)?\s*$")
# A translation of the entry: `### [de] Wie lange dauert der Versand?` (a language code in brackets).
_TRANSLATION = re.compile(r"^###(?!#)\s+\[([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\]\s*(.*?)(?:\s+#+)?\s*$")
_TOP_HEADING = re.compile(r"^#(?!#)\s")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


class KnowledgeBaseError(Exception):
    """The knowledge base file cannot be used; `reason` says why in words an operator can act on."""

    def __init__(self, path: Path | None, reason: str) -> None:
        super().__init__(f"knowledge base {path}: {reason}" if path else f"knowledge base: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Version:
    """An entry in one language: its phrasings (the first is the main one) and its Markdown answer."""

    questions: tuple[str, ...]
    answer: str
    answer_html: str


@dataclass(frozen=True)
class Entry:
    """One FAQ entry in the file's language, with its translations by language code ("de", "pt-br")."""

    questions: tuple[str, ...]
    answer: str
    answer_html: str
    line: int = 0
    translations: dict[str, Version] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.questions[0]

    def version(self, language: str | None) -> Version | None:
        """The translation for `language` ("de-AT" falls back to "de"), or None."""
        if not language:
            return None
        code = language.casefold()
        return self.translations.get(code) or self.translations.get(code.split("-")[0])


class _Builder:
    def __init__(self, line: int, questions: list[str]) -> None:
        self.line, self.questions = line, questions
        self.body: list[str] = []
        self.translations: list[tuple[int, str, list[str], list[str]]] = []  # line, lang, questions, body

    def add(self, text: str) -> None:
        (self.translations[-1][3] if self.translations else self.body).append(text)


def _phrasings(text: str) -> list[str]:
    return [q for part in text.split(" | ") if (q := part.strip(" \t|"))]


def parse_knowledge_base(text: str, path: Path | None = None) -> list[Entry]:
    """Entries from Markdown: each `## ` heading is a question (`a | b` lists alternatives) answered by the
    text below it. `# ` headings and anything before the first `## ` are ignored. Raises
    KnowledgeBaseError naming the line for a question without an answer or asked twice."""
    builders: list[_Builder] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _QUESTION.match(line)
        translation = None if fenced or not builders else _TRANSLATION.match(line)
        if heading:
            questions = _phrasings(heading[1])
            if not questions:
                raise KnowledgeBaseError(path, f"line {number}: a `## ` heading with no question")
            builders.append(_Builder(number, questions))
        elif translation:
            questions = _phrasings(translation[2])
            if not questions:
                raise KnowledgeBaseError(path, f"line {number}: translation [{translation[1]}] has no question")
            builders[-1].translations.append((number, translation[1].casefold(), questions, []))
        elif builders and (fenced or not _TOP_HEADING.match(line)):
            builders[-1].add(line)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for b in builders:
        answer = "\n".join(b.body).strip("\n")
        if not answer.strip():
            raise KnowledgeBaseError(path, f"line {b.line}: the question {b.questions[0]!r} has no answer "
                                           "below it")
        key = " ".join(b.questions[0].casefold().split())
        if key in seen:
            raise KnowledgeBaseError(path, f"line {b.line}: the question {b.questions[0]!r} is already asked at "
                                           f"line {seen[key]}; merge the two entries")
        seen[key] = b.line
        translations: dict[str, Version] = {}
        for line, lang, questions, body in b.translations:
            text_ = "\n".join(body).strip("\n")
            if not text_.strip():
                raise KnowledgeBaseError(path, f"line {line}: translation [{lang}] has no answer below it")
            if lang in translations:
                raise KnowledgeBaseError(path, f"line {line}: a second [{lang}] translation of "
                                               f"{b.questions[0]!r}")
            translations[lang] = Version(tuple(questions), text_, markdown_to_html(text_))
        entries.append(Entry(tuple(b.questions), answer, markdown_to_html(answer), b.line, translations))
    return entries


def read_knowledge_file(path: Path) -> tuple[list[Entry], tuple[int, int]]:
    """Entries and the file's (mtime, size) stamp. Raises KnowledgeBaseError saying what is wrong."""
    try:
        stat = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise KnowledgeBaseError(path, "file not found") from None
    except IsADirectoryError:
        raise KnowledgeBaseError(path, "is a directory, not a Markdown file") from None
    except OSError as exc:
        raise KnowledgeBaseError(path, exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = f"line {line}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
        raise KnowledgeBaseError(path, reason) from None
    if not text.strip():
        raise KnowledgeBaseError(path, "the file is empty: write each question as a `## ` heading with its "
                                       "answer below it")
    entries = parse_knowledge_base(text, path)
    if not entries:
        raise KnowledgeBaseError(path, "no entries: write each question as a `## ` heading with its answer "
                                       "below it")
    return entries, (stat.st_mtime_ns, stat.st_size)
