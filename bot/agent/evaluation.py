"""`baton kb eval`: run the FAQ agent's decision over a labelled question file and score it.

The file has one JSON object per line: {"q": "customer message", "expect": "entry question" or null,
"kind": "any label"}. null means the right move is a hand-off. Scores are computed once per question, so a
threshold sweep re-decides without running the model again.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.agent.faq import FaqAgent
from bot.agent.retrieval import SMALL_TALK_LEAD, Decision, Scores, Thresholds

_GRID_AGREE = [round(x, 3) for x in np.arange(0.78, 0.905, 0.005)]
_GRID_ALONE = [round(x, 3) for x in np.arange(0.82, 0.955, 0.005)]
_GRID_MARGIN = [round(x, 2) for x in np.arange(0.0, 1.55, 0.05)]


class QuestionFileError(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    text: str
    expect: str | None
    kind: str
    line: int


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def load_questions(path: Path, titles: list[str]) -> list[Question]:
    """Raises QuestionFileError naming the line of anything it cannot use."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QuestionFileError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise QuestionFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    known = {_key(t): t for t in titles}
    questions: list[Question] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("q"), str) or "expect" not in row:
            raise QuestionFileError(f'{path}:{number}: need an object with "q" (text) and "expect" '
                                    "(an entry's question, or null for a hand-off)")
        expect = row["expect"]
        if expect is not None and (not isinstance(expect, str) or _key(expect) not in known):
            raise QuestionFileError(f"{path}:{number}: expect {expect!r} is not a question of the knowledge base")
        questions.append(Question(row["q"], known[_key(expect)] if expect else None,
                                  str(row.get("kind") or ("in-scope" if expect else "hand-off")), number))
    if not questions:
        raise QuestionFileError(f"{path}: no questions")
    return questions


@dataclass
class Report:
    total: int = 0
    right: int = 0
    wrong: int = 0
    in_scope: int = 0
    in_scope_right: int = 0
    in_scope_handoff: int = 0
    null: int = 0
    null_handoff: int = 0
    clarified: int = 0
    clarified_with_right_choice: int = 0
    per_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind: (right, total)
    confusions: list[tuple[Question, str | None, str]] = field(default_factory=list)  # answered, why

    @property
    def overall(self) -> float:
        return self.right / self.total if self.total else 0.0


def score(questions: list[Question], decisions: list[Decision]) -> Report:
    """A clarifying question counts as a hand-off (it is not an answer); it is also counted apart."""
    report = Report()
    per_kind: Counter[tuple[str, bool]] = Counter()
    for question, decision in zip(questions, decisions, strict=True):
        answered = decision.best.title if decision.action == "answer" and decision.best else None
        right = answered == question.expect
        report.total += 1
        report.right += right
        report.wrong += answered is not None and not right
        per_kind[question.kind, right] += 1
        if decision.action == "clarify":
            report.clarified += 1
            report.clarified_with_right_choice += any(c.title == question.expect for c in decision.choices)
        if question.expect is None:
            report.null += 1
            report.null_handoff += answered is None
        else:
            report.in_scope += 1
            report.in_scope_right += right
            report.in_scope_handoff += answered is None
        if not right:
            report.confusions.append((question, answered, decision.why))
    kinds = dict.fromkeys(q.kind for q in questions)
    report.per_kind = {k: (per_kind[k, True], per_kind[k, True] + per_kind[k, False]) for k in kinds}
    return report


class Evaluation:
    """The agent's scores for every question, kept for re-deciding with other thresholds."""

    def __init__(self, agent: FaqAgent, questions: list[Question]) -> None:
        self.agent = agent
        self.questions = questions
        agent.wait_until_indexed()
        snapshot = agent._snapshot
        assert snapshot is not None
        self.index = snapshot.index
        self.words_only = snapshot.words is not None
        if self.words_only:
            self.decisions = [agent.decide(q.text) for q in questions]
            self.scores: list[Scores] = []
        else:
            self.scores = [self.index.scores(q.text) for q in questions]
            self.decisions = self.decide(agent.thresholds)

    def decide(self, thresholds: Thresholds) -> list[Decision]:
        if self.words_only:
            return self.decisions
        return [self.index.decide_scores(s, thresholds) if q.text.strip() else Decision("handoff", [])
                for q, s in zip(self.questions, self.scores, strict=True)]

    def sweep(self, max_wrong_share: float = 0.05, top: int = 5) -> list[tuple[Thresholds, Report]]:
        """Threshold settings with the best overall accuracy among those with at most `max_wrong_share` of
        all questions answered wrongly (ties: fewer wrong answers, then the higher thresholds)."""
        if self.words_only:
            return []
        allowed = int(max_wrong_share * len(self.questions))
        # The answer rule, vectorised over questions: each question's best entry, score, margin, agreement.
        base = self.decide(Thresholds(agree=2.0, alone=2.0, margin=0.0))
        # Unrounded, as the decision compares them (Scored rounds its scores for display).
        best = np.array([float(s.dense.max()) if len(s.dense) else -1.0 for s in self.scores])
        small_talk = np.array([s.small_talk for s in self.scores]) - best >= SMALL_TALK_LEAD
        margin = np.array([d.margin for d in base])
        agree = np.array([d.agree for d in base])
        correct = np.array([bool(d.best) and d.best.title == q.expect for d, q in zip(base, self.questions,
                                                                                       strict=True)])
        null = np.array([q.expect is None for q in self.questions])
        candidates: list[tuple[int, int, Thresholds]] = []
        for agree_t in _GRID_AGREE:
            for alone in (a for a in _GRID_ALONE if a >= agree_t):
                confident = ((best >= alone) | (agree & (best >= agree_t))) & ~small_talk
                for margin_t in _GRID_MARGIN:
                    answered = confident & (margin >= margin_t)
                    wrong = int(np.sum(answered & ~correct))
                    if wrong <= allowed:
                        right = int(np.sum(answered & correct) + np.sum(~answered & null))
                        candidates.append((right, wrong, Thresholds(agree_t, alone, margin_t)))
        candidates.sort(key=lambda c: (-c[0], c[1], -c[2].agree, -c[2].alone, -c[2].margin))
        return [(t, score(self.questions, self.decide(t))) for _, _, t in candidates[:top]]
