"""The built-in agent: answers from a Markdown knowledge base by retrieval by meaning (see retrieval.py), asks
which entry is meant when two are close, hands off otherwise, and says why in the conversation's thread."""

from __future__ import annotations

import asyncio
import html
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.agent.base import AgentReply, AgentRequest, Choice
from bot.agent.embedding import DEFAULT_MODEL, Embedder, load_embedder
from bot.agent.knowledge import Entry, KnowledgeBaseError, parse_knowledge_base, read_knowledge_file
from bot.agent.markdown import markdown_to_html
from bot.agent.retrieval import Decision, HybridIndex, Passage, Scored, Thresholds
from bot.agent.wordmatch import WordIndex

__all__ = ["DEFAULT_HOLDING_MESSAGE", "FaqAgent", "KnowledgeBaseError", "Match", "markdown_to_html",
           "parse_knowledge_base"]

log = logging.getLogger(__name__)

DEFAULT_HOLDING_MESSAGE = "Let me check that with a colleague, they will reply here shortly."
# How long a reply waits for the first index before handing off (a large file indexes in the background).
INDEX_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Match:
    """How well a message fits one entry: its main question, its answer, and a score from 0 to 1."""

    question: str
    answer: str
    score: float
    answer_html: str = ""
    lexical: float = 0.0


class _Snapshot:
    """One version of the file, indexed."""

    def __init__(self, entries: list[Entry], embedder: Embedder | None, stamp: tuple[int, int] | None) -> None:
        self.entries = entries
        self.stamp = stamp
        passages: list[Passage] = []
        for number, entry in enumerate(entries):
            versions = [("", entry), *((lang, v) for lang, v in entry.translations.items())]
            for language, version in versions:
                passages.append(Passage(number, version.questions[0] + "\n" + version.answer, language))
                passages += [Passage(number, q, language, "phrasing") for q in version.questions[1:]]
                passages += [Passage(number, q, language, "question") for q in version.questions]
        self.index = HybridIndex([e.title for e in entries], passages, embedder)
        self.by_question = {" ".join(q.casefold().split()): number for number, e in enumerate(entries)
                            for q in (*e.questions, *(q for v in e.translations.values() for q in v.questions))}
        self.words = WordIndex([e.questions + tuple(q for v in e.translations.values() for q in v.questions)
                                for e in entries]) if embedder is None else None


class FaqAgent:
    """Answers from a Markdown knowledge base, re-read whenever the file changes; hands off otherwise.

    The file is checked when the agent is made (errors name the line) and indexed on a worker thread;
    replies run on a worker thread too, so the event loop never waits for the model."""

    def __init__(self, path: Path | None, *, thresholds: Thresholds | None = None, threshold: float = 0.55,
                 embedding_model: str = DEFAULT_MODEL, holding_message: str = DEFAULT_HOLDING_MESSAGE,
                 untranslated_notes: dict[str, str] | None = None, text: str | None = None,
                 index_cache: Path | None = None, background: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.thresholds = thresholds or Thresholds()
        self.threshold = threshold  # the word matcher's, when there is no embedding model
        self.holding_message = holding_message
        self.untranslated_notes = {k.casefold(): v for k, v in (untranslated_notes or {}).items()}
        self.embedder = load_embedder(embedding_model)  # raises EmbeddingError: no silent fallback
        self.index_cache = index_cache
        if self.embedder is None:
            log.warning("knowledge base: no embedding model configured; matching by words only")
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._snapshot: _Snapshot | None = None
        if text is not None:
            entries, stamp = parse_knowledge_base(text), None
        elif self.path is not None:
            entries, stamp = read_knowledge_file(self.path)
        else:
            raise ValueError("FaqAgent needs a path or a text")
        self._pending_stamp = stamp
        self.indexing_error: str | None = None
        if background:
            threading.Thread(target=self._index_first, args=(entries, stamp), daemon=True,
                             name="kb-index").start()
        else:
            self._index_first(entries, stamp)

    @classmethod
    def from_text(cls, text: str, **options: object) -> FaqAgent:
        return cls(None, text=text, background=False, **options)  # type: ignore[arg-type]

    def _index_first(self, entries: list[Entry], stamp: tuple[int, int] | None) -> None:
        try:
            if self.index_cache is not None and self.embedder is not None:
                found = self.embedder.load_cache(self.index_cache)
                log.info("index cache %s: %d vectors", self.index_cache, found)
            snapshot = self._indexed(entries, stamp)
        except Exception as exc:  # the thread's only report is the log and `indexing_error`
            log.exception("knowledge base %s: indexing failed", self.path)
            self.indexing_error = f"indexing failed: {type(exc).__name__}: {exc}"
            return
        with self._lock:
            if self._snapshot is None:
                self._snapshot = snapshot
        self._ready.set()
        log.info("knowledge base %s: %d entries indexed", self.path or "(text)", len(entries))

    def load(self) -> None:
        """Re-read and re-index now (`/baton kb reload`); raises KnowledgeBaseError for a broken file."""
        if self.path is None:
            return
        entries, stamp = read_knowledge_file(self.path)
        snapshot = self._indexed(entries, stamp)
        with self._lock:
            self._snapshot, self._pending_stamp = snapshot, stamp
        self._ready.set()

    def _indexed(self, entries: list[Entry], stamp: tuple[int, int] | None) -> _Snapshot:
        snapshot = _Snapshot(entries, self.embedder, stamp)
        if self.index_cache is not None and self.embedder is not None:
            self.embedder.save_cache(self.index_cache, [(p.text, p.view == "phrasing")
                                                        for p in snapshot.index.passages])
        return snapshot

    def status(self) -> str:
        """One line for `/baton status`: entries and matching, or what is wrong."""
        if self.indexing_error:
            return f"*{self.indexing_error}*: every message goes to a human"
        if not self._ready.is_set():
            return "indexing (until it is done, messages wait up to 20 s, then go to a human)"
        matching = (f"{self.embedder.name} + words" if self.embedder is not None
                    else "*words only* (agent.embedding_model = \"none\")")
        return f"{len(self.entries)} entries, matching by {matching}"

    def wait_until_indexed(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def entries(self) -> list[Entry]:
        return self._snapshot.entries if self._snapshot else []

    def reload_if_changed(self) -> bool:
        """Re-read and re-index when the file's mtime or size changed (blocking: call it off the event loop).
        A broken edit keeps the last good version, with a warning naming the problem."""
        if self.path is None or not self._ready.is_set():
            return False
        try:
            stat = self.path.stat()
        except OSError as exc:
            log.warning("knowledge base %s: cannot check for changes (%s); keeping what was loaded",
                        self.path, exc)
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp in (self._pending_stamp, self._snapshot.stamp if self._snapshot else None):
                return False
            self._pending_stamp = stamp  # do not retry (and log) a broken file on every message
            try:
                entries, stamp = read_knowledge_file(self.path)
            except KnowledgeBaseError as exc:
                log.warning("%s; keeping the previous version", exc)
                return False
            # Unchanged entries are not embedded again (the embedder remembers them).
            self._snapshot = self._indexed(entries, stamp)
        log.info("knowledge base %s: %d entries re-indexed", self.path, len(entries))
        return True

    # --- deciding -----------------------------------------------------------------------------------

    def decide(self, question: str, *, wait: float = INDEX_WAIT_SECONDS) -> Decision:
        """Blocking: reloads if the file changed, waits up to `wait` seconds for the first index."""
        if not self._ready.wait(wait):
            why = self.indexing_error or f"the knowledge base is still being indexed ({self.path})"
            return Decision("handoff", [], why=why)
        self.reload_if_changed()
        snapshot = self._snapshot
        assert snapshot is not None
        if snapshot.words is not None:
            decision = _word_decision(snapshot, question, self.threshold)
        else:
            decision = snapshot.index.decide(question, self.thresholds)
        picked = snapshot.by_question.get(" ".join(question.casefold().split()))
        if picked is not None and decision.action != "answer":
            # The customer's words are exactly an entry's question (a pressed choice button, or a copy):
            # that entry, whatever the neighbours score.
            ranked = sorted(decision.ranked, key=lambda s: s.index != picked)
            return Decision("answer", ranked, decision.margin, decision.agree,
                            why=f"{ranked[0].title}: the message is this entry's question")
        return decision

    @property
    def passage_floor(self) -> float:
        """Matches above this are worth showing a language model: near the answer threshold by meaning, or
        sharing a word with the word matcher."""
        return 0.0 if self.embedder is None else self.thresholds.agree - 0.01

    def search(self, question: str, limit: int = 3) -> list[Match]:
        decision = self.decide(question)
        snapshot = self._snapshot
        if snapshot is None:
            return []
        return [_match(snapshot.entries[s.index], s) for s in decision.ranked[:limit]]

    async def reply(self, request: AgentRequest) -> AgentReply:
        decision = await asyncio.to_thread(self.decide, request.last_customer_text)
        return self.reply_for(decision, request.customer.language)

    def reply_for(self, decision: Decision, language: str | None) -> AgentReply:
        snapshot = self._snapshot
        best = decision.best
        confidence = best.dense if best else 0.0
        if decision.action == "answer" and best is not None and snapshot is not None:
            entry = snapshot.entries[best.index]
            return AgentReply(text=self.answer_html(entry, language), confidence=confidence,
                              context=f"answered from “{entry.title}” ({decision.why})", entry=entry.title)
        holding = html.escape(self.holding_message, quote=False)
        if decision.action == "clarify":
            choices = [Choice(s.title, s.title) for s in decision.choices]
            return AgentReply(text=None, confidence=confidence, context=decision.why, choices=choices)
        return AgentReply(text=holding, confidence=confidence, handoff_reason=decision.why)

    def answer_html(self, entry: Entry, language: str | None) -> str:
        """The customer's language's version of the answer, else the file's with a note if one is set."""
        version = entry.version(language)
        if version is not None:
            return version.answer_html
        code = (language or "").casefold()
        note = self.untranslated_notes.get(code) or self.untranslated_notes.get(code.split("-")[0])
        return f"<i>{html.escape(note, quote=False)}</i>\n\n{entry.answer_html}" if note else entry.answer_html


def _match(entry: Entry, scored: Scored) -> Match:
    return Match(entry.title, entry.answer, scored.dense, entry.answer_html, scored.lexical)


def _word_decision(snapshot: _Snapshot, question: str, threshold: float) -> Decision:
    assert snapshot.words is not None
    scores = snapshot.words.scores(question)
    ranked = sorted((Scored(i, e.title, s, s) for i, (e, s) in enumerate(zip(snapshot.entries, scores,
                                                                             strict=True))),
                    key=lambda s: -s.dense)
    if not ranked:
        return Decision("handoff", [], why="the knowledge base is empty")
    best = ranked[0]
    if best.dense >= threshold:
        return Decision("answer", ranked, agree=True, why=f"{best.title} {best.dense:.2f}, words only")
    return Decision("handoff", ranked, why=f"no entry above {threshold:.2f} (words only); "
                                           f"closest: {best.title} {best.dense:.2f}")
