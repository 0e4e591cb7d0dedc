"""Hybrid retrieval over knowledge-base entries and the answer / ask / hand-off decision.

Each entry is scored by meaning (cosine of sentence embeddings of the message and of the entry's question
plus answer, other phrasings and translations; any language), by meaning against its question alone (a
second opinion), and by words (BM25, shown to the team). The decision uses the best meaning score, its
margin over the runner-up (in standard deviations of that message's scores over all entries, so it does
not depend on the model's scale) and whether the question-alone view points at the same entry. On the
development set word agreement let near-misses through and did not help; see bench/README.md.
Thresholds are chosen by `baton kb eval --sweep` on a labelled question file.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Literal

import bm25s
import numpy as np

from bot.agent.embedding import Embedder
from bot.agent.spelling import Speller

# bm25s sets its own logger to DEBUG when imported; the configured level should decide, as for every library.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

Action = Literal["answer", "clarify", "handoff"]
_WORD = re.compile(r"\w+")
# Below this many entries a standard deviation says little; use a typical one instead.
_MIN_SPREAD = 0.01
RANKED = 20  # entries a decision lists, best first (agent.max_context_passages is at most 20)
# Messages that ask nothing: a greeting, thanks, "quick question". A message at least SMALL_TALK_LEAD closer
# to one of these than to its best entry is handed off whatever its score: cosines of this model sit high
# for everything (0.75 for unrelated text), so a bare "Hi, quick question" can otherwise clear a threshold.
# A background to compare with, not a list fitted to one knowledge base's questions.
SMALL_TALK = ("hi", "hello", "hey there", "good morning", "thanks", "thank you so much", "ok", "bye",
              "I have a question", "quick question", "can you help me", "I need help", "are you a bot?",
              "how are you?", "test", "yes", "no", "hola", "hallo", "bonjour", "привет", "danke", "gracias",
              "спасибо")
SMALL_TALK_LEAD = 0.05


def words(text: str) -> list[str]:
    """Casefolded words with accents removed: "Réservation" and "reservation" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class Thresholds:
    """When to answer: the best entry scores at least `agree` and its question alone is also the best match,
    or it scores at least `alone`; and in both cases it leads the runner-up by `margin` standard
    deviations. As sure as that but too close to the runner-up: ask the customer which one."""

    agree: float = 0.82
    alone: float = 0.875
    margin: float = 0.1


@dataclass(frozen=True)
class Passage:
    """A text standing for an entry, in the file's language ("") or a translation's. `view` says how it is
    compared: "entry" (question and answer), "phrasing" (another way of asking, compared question to
    question; counts as the entry) or "question" (the question alone: the second opinion)."""

    entry: int
    text: str
    language: str = ""
    view: Literal["entry", "phrasing", "question"] = "entry"


@dataclass(frozen=True)
class Scored:
    index: int
    title: str
    dense: float  # cosine similarity, about 0.75 (unrelated) to 0.95 (same question)
    lexical: float  # BM25 relative to the best entry's: 1.0 for the best word match, 0 for no shared word
    question: float = 0.0  # cosine with the entry's question alone


@dataclass(frozen=True)
class Scores:
    """One message against every entry: by meaning (whole entry; question alone) and by words."""

    dense: np.ndarray
    questions: np.ndarray
    lexical: np.ndarray
    small_talk: float = -1.0  # cosine with the nearest message that asks nothing (SMALL_TALK)
    read_as: str = ""  # the message with its typos put right, when it had any


@dataclass(frozen=True)
class Decision:
    action: Action
    ranked: list[Scored]
    margin: float = 0.0  # best over runner-up, in standard deviations
    agree: bool = False  # the entry's question alone also points at the best entry
    choices: list[Scored] = field(default_factory=list)  # for "clarify"
    why: str = ""
    read_as: str = ""  # the message as matched, when typos were put right

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


class HybridIndex:
    """Built once per version of the file, on a worker thread (embedding takes ~0.1 s per entry)."""

    def __init__(self, titles: list[str], passages: list[Passage], embedder: Embedder | None) -> None:
        self.titles = titles
        self.embedder = embedder
        self.passages = passages
        self.vectors: np.ndarray | None = None
        self._small_talk = embedder.queries(list(SMALL_TALK)) if embedder is not None else None
        if embedder is not None and passages:
            parts = []
            for as_queries in (False, True):
                chosen = [n for n, p in enumerate(passages) if (p.view == "phrasing") == as_queries]
                if chosen:
                    parts.append((chosen, embedder.passages([passages[n].text for n in chosen],
                                                            as_queries=as_queries)))
            self.vectors = np.zeros((len(passages), parts[0][1].shape[1]), dtype=np.float32)
            for chosen, embedded in parts:
                self.vectors[chosen] = embedded
        # Multilingual models rate a text in the customer's language higher than the same text in another:
        # a lone German translation would attract every German question. Each language's cosines are
        # therefore shifted to the mean of the file language's (same view) before entries are compared.
        groups: dict[tuple[str, str], list[int]] = {}
        for number, p in enumerate(passages):
            groups.setdefault((p.view, p.language), []).append(number)
        self._shifts = [(np.array(members), np.array(groups[view, ""]))
                        for (view, language), members in groups.items() if language and (view, "") in groups]
        # Per view, its passages ordered by entry, and where each entry's run starts: the best cosine per
        # entry is then one maximum.reduceat.
        self._views: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for view, kinds in (("entry", ("entry", "phrasing")), ("question", ("question",))):
            rows = sorted((p.entry, n) for n, p in enumerate(passages) if p.view in kinds)
            owners = np.array([entry for entry, _ in rows], dtype=np.int64)
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(rows) else owners
            self._views[view] = (np.array([n for _, n in rows], dtype=np.int64), starts, owners[starts])
        self.speller = Speller((p.text for p in passages), {p.language for p in passages if p.language})
        self._bm25: bm25s.BM25 | None = None
        if titles:
            # Words of a translation only count where most entries have one: otherwise the few translated
            # entries would match every message in that language on its common words.
            coverage: dict[str, set[int]] = {}
            for p in passages:
                coverage.setdefault(p.language, set()).add(p.entry)
            counted = {lang for lang, entries in coverage.items() if not lang or 2 * len(entries) >= len(titles)}
            per_entry: list[list[str]] = [[] for _ in titles]
            for p in passages:
                if p.language in counted and p.view != "question":  # the question is in the entry's text
                    per_entry[p.entry] += words(p.text)
            self._bm25 = bm25s.BM25()
            self._bm25.index([tokens or ["\u2205"] for tokens in per_entry], show_progress=False)

    def __len__(self) -> int:
        return len(self.titles)

    def lexical(self, text: str) -> np.ndarray:
        tokens = words(text)
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.titles))
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)

    def scores(self, text: str) -> Scores:
        """Per entry and view, the best cosine over its passages (the original and each translation)."""
        zeros = np.zeros(len(self.titles))
        corrected = self.speller.correct(text)
        read_as, text = (corrected, corrected) if corrected != text else ("", text)
        if self.embedder is None or self.vectors is None:
            return Scores(zeros, zeros, self.lexical(text), read_as=read_as)
        query = self.embedder.queries([text])[0]
        cosines = (self.vectors @ query).astype(np.float64)
        small_talk = float((self._small_talk @ query).max()) if self._small_talk is not None else -1.0
        for members, reference in self._shifts:
            cosines[members] += cosines[reference].mean() - cosines[members].mean()
        per_view = []
        for view in ("entry", "question"):
            rows, starts, entries = self._views[view]
            best = np.full(len(self.titles), -1.0)
            if len(rows):
                best[entries] = np.maximum.reduceat(cosines[rows], starts)
            per_view.append(best)
        return Scores(per_view[0], per_view[1], self.lexical(text), small_talk, read_as)

    def decide(self, text: str, thresholds: Thresholds, *, max_choices: int = 3) -> Decision:
        if not self.titles or not text.strip():
            return Decision("handoff", [], why="the knowledge base is empty" if not self.titles else "no text")
        return self.decide_scores(self.scores(text), thresholds, max_choices=max_choices)

    def decide_scores(self, scores: Scores, thresholds: Thresholds, *, max_choices: int = 3) -> Decision:
        """The decision from precomputed scores (a threshold sweep re-decides without re-embedding)."""
        decision = self._decide(scores, thresholds, max_choices)
        return replace(decision, read_as=scores.read_as) if scores.read_as else decision

    def _decide(self, scores: Scores, thresholds: Thresholds, max_choices: int) -> Decision:
        dense, lexical = scores.dense, scores.lexical
        top_lex = float(lexical.max())
        rel_lex = lexical / top_lex if top_lex > 0 else lexical
        # Only the best few are ranked: a decision, a choice or a prompt never needs more.
        top = np.argpartition(-dense, RANKED - 1)[:RANKED] if len(dense) > RANKED else np.arange(len(dense))
        order = top[np.argsort(-dense[top], kind="stable")]
        ranked = [Scored(int(i), self.titles[i], round(float(dense[i]), 4), round(float(rel_lex[i]), 3),
                         round(float(scores.questions[i]), 4)) for i in order]
        best = ranked[0]
        spread = max(float(dense.std()), _MIN_SPREAD) if len(dense) >= 3 else _MIN_SPREAD * 2
        # From the unrounded scores: `ranked` rounds them for display, and a rounded margin can cross a threshold.
        margin = float(dense[order[0]] - dense[order[1]]) / spread if len(order) > 1 else float("inf")
        agree = int(scores.questions.argmax()) == best.index and float(scores.questions.max()) > -1
        best_score = float(dense[order[0]])
        confident = best_score >= thresholds.alone or (agree and best_score >= thresholds.agree)
        if confident and scores.small_talk - best_score >= SMALL_TALK_LEAD:
            why = (f"reads as small talk, not a question ({scores.small_talk:.2f}); "
                   f"closest: {best.title} {best.dense:.2f}")
            return Decision("handoff", ranked, margin, agree, why=why)
        if confident and margin >= thresholds.margin:
            why = f"{best.title} {best.dense:.2f}" + (", its question alone agrees" if agree else "")
            return Decision("answer", ranked, margin, agree, why=why)
        if confident:  # sure it is one of a few entries, not which: ask
            rivals = [s for n, s in zip(order, ranked[:max_choices], strict=False)
                      if (best_score - dense[n]) / spread < 2 * thresholds.margin]
            why = "too close to call: " + ", ".join(f"{s.title} {s.dense:.2f}" for s in rivals)
            return Decision("clarify", ranked, margin, agree, choices=rivals, why=why)
        if best_score >= thresholds.agree:
            why = (f"no entry above {thresholds.alone:.2f}, nor above {thresholds.agree:.2f} with its question "
                   f"alone agreeing; closest: {best.title} {best.dense:.2f}")
        else:
            why = f"no entry above {thresholds.agree:.2f}; closest: {best.title} {best.dense:.2f}"
        return Decision("handoff", ranked, margin, agree, why=why)
