"""Hybrid retrieval over knowledge-base entries and the answer / ask / hand-off decision.

Each entry is scored two ways: by meaning (cosine of sentence embeddings of the message and of the entry's
question plus answer, any language) and by words (BM25 over the entry's text). The decision uses the best
meaning score, its margin over the runner-up (in standard deviations of that message's scores over all
entries, so it does not depend on the model's scale) and whether the word match points at the same entry.
Thresholds are chosen by `baton kb eval --sweep` on a labelled question file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import bm25s
import numpy as np

from bot.agent.embedding import Embedder

Action = Literal["answer", "clarify", "handoff"]
_WORD = re.compile(r"\w+")
# Below this many entries a standard deviation says little; use a typical one instead.
_MIN_SPREAD = 0.01


def words(text: str) -> list[str]:
    """Casefolded words with accents removed: "Réservation" and "reservation" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class Thresholds:
    """When to answer: the best entry scores at least `agree` and the word match picks the same entry, or it
    scores at least `alone`; and in both cases it leads the runner-up by `margin` standard deviations.
    Two or more entries at least `agree` but too close to tell apart: ask the customer which one."""

    agree: float = 0.83
    alone: float = 0.875
    margin: float = 0.25


@dataclass(frozen=True)
class Passage:
    """A text standing for an entry: its question and answer (in the file's language, language "", or a
    translation's), or another phrasing of its question (`is_question`, compared question to question)."""

    entry: int
    text: str
    language: str = ""
    is_question: bool = False


@dataclass(frozen=True)
class Scored:
    index: int
    title: str
    dense: float  # cosine similarity, about 0.75 (unrelated) to 0.95 (same question)
    lexical: float  # BM25 relative to the best entry's: 1.0 for the best word match, 0 for no shared word


@dataclass(frozen=True)
class Decision:
    action: Action
    ranked: list[Scored]
    margin: float = 0.0  # best over runner-up, in standard deviations
    agree: bool = False  # the word match's best entry is the meaning match's best entry
    choices: list[Scored] = field(default_factory=list)  # for "clarify"
    why: str = ""

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


class HybridIndex:
    """Built once per version of the file, on a worker thread (embedding takes ~0.1 s per entry)."""

    def __init__(self, titles: list[str], passages: list[Passage], embedder: Embedder | None) -> None:
        self.titles = titles
        self.embedder = embedder
        self.owners = np.array([p.entry for p in passages], dtype=np.int64)
        self.vectors = None
        # Multilingual models rate a text in the customer's language higher than the same text in another:
        # a lone German translation would attract every German question. Each language's cosines are
        # therefore shifted to the same mean as the file's language before entries are compared.
        groups: dict[tuple[bool, str], list[int]] = {}
        for number, p in enumerate(passages):
            groups.setdefault((p.is_question, p.language), []).append(number)
        self._groups = [(np.array(members), (is_question, "") if (is_question, "") in groups else None)
                        for (is_question, language), members in groups.items() if language]
        self._reference = {key: np.array(members) for key, members in groups.items() if not key[1]}
        if embedder is not None and passages:
            vectors = np.zeros((len(passages), 0), dtype=np.float32)
            for is_question in (False, True):
                chosen = [n for n, p in enumerate(passages) if p.is_question == is_question]
                if chosen:
                    embedded = embedder.passages([passages[n].text for n in chosen], as_queries=is_question)
                    if vectors.shape[1] == 0:
                        vectors = np.zeros((len(passages), embedded.shape[1]), dtype=np.float32)
                    vectors[chosen] = embedded
            self.vectors = vectors
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
                if p.language in counted:
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

    def dense(self, text: str) -> np.ndarray:
        """Per entry, the best cosine over its passages (the original and each translation)."""
        if self.embedder is None or self.vectors is None:
            return np.zeros(len(self.titles))
        cosines = (self.vectors @ self.embedder.queries([text])[0]).astype(np.float64)
        for members, reference in self._groups:
            if reference is not None:
                cosines[members] += cosines[self._reference[reference]].mean() - cosines[members].mean()
        best = np.full(len(self.titles), -1.0)
        np.maximum.at(best, self.owners, cosines)
        return best

    def decide(self, text: str, thresholds: Thresholds, *, max_choices: int = 3) -> Decision:
        if not self.titles or not text.strip():
            return Decision("handoff", [], why="the knowledge base is empty" if not self.titles else "no text")
        return self.decide_scores(self.dense(text), self.lexical(text), thresholds, max_choices=max_choices)

    def decide_scores(self, dense: np.ndarray, lexical: np.ndarray, thresholds: Thresholds, *,
                      max_choices: int = 3) -> Decision:
        """The decision from precomputed scores (a threshold sweep re-decides without re-embedding)."""
        top_lex = float(lexical.max())
        rel_lex = lexical / top_lex if top_lex > 0 else lexical
        order = np.argsort(-dense, kind="stable")
        ranked = [Scored(int(i), self.titles[i], round(float(dense[i]), 4), round(float(rel_lex[i]), 3))
                  for i in order]
        best = ranked[0]
        spread = max(float(dense.std()), _MIN_SPREAD) if len(dense) >= 3 else _MIN_SPREAD * 2
        margin = (best.dense - ranked[1].dense) / spread if len(ranked) > 1 else float("inf")
        agree = top_lex > 0 and int(lexical.argmax()) == best.index
        confident = best.dense >= thresholds.alone or (agree and best.dense >= thresholds.agree)
        if confident and margin >= thresholds.margin:
            why = f"{best.title} {best.dense:.2f}" + (", words agree" if agree else "")
            return Decision("answer", ranked, margin, agree, why=why)
        if confident:  # sure it is one of a few entries, not which: ask
            rivals = [s for s in ranked[:max_choices] if (best.dense - s.dense) / spread < 2 * thresholds.margin]
            why = "too close to call: " + ", ".join(f"{s.title} {s.dense:.2f}" for s in rivals)
            return Decision("clarify", ranked, margin, agree, choices=rivals, why=why)
        if best.dense >= thresholds.agree:
            why = (f"no entry above {thresholds.alone:.2f}, nor above {thresholds.agree:.2f} with the words agreeing; "
                   f"closest: {best.title} {best.dense:.2f}")
        else:
            why = f"no entry above {thresholds.agree:.2f}; closest: {best.title} {best.dense:.2f}"
        return Decision("handoff", ranked, margin, agree, why=why)
