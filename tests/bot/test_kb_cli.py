"""`baton kb eval` and `baton kb test` with the real model on a knowledge base and question file of our own."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

KB = """\
## When are you open?
Monday to Saturday, 7:00 to 18:00. Closed on Sundays.

## Can I pay by card?
We take Visa, Mastercard and contactless payments; cash is welcome too.

## Do you deliver?
We deliver within 5 km for orders over 30 euros, between 9:00 and 12:00.

## How do I order a birthday cake?
Order at the counter or by phone at least three days ahead.
"""

CONFIG = """
[telegram]
token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
[slack]
bot_token = "xoxb-1-2-abc"
app_token = "xapp-1-A1-abc"
channel = "C0123ABCD"
[agent]
knowledge_base = "kb.md"
[access]
operators = ["U0OPERATOR1"]
"""

QUESTIONS = [
    {"q": "When are you open?", "expect": "When are you open?", "kind": "exact"},
    {"q": "can I pay with my visa card", "expect": "can i pay by card?", "kind": "paraphrase"},
    {"q": "What's the capital of Australia?", "expect": None, "kind": "out-of-scope"},
    {"q": "asdfjkl", "expect": None, "kind": "out-of-scope"},
]


@pytest.fixture(autouse=True)
def _no_leftover_log_handlers() -> Iterator[None]:
    # `baton run` in other tests points the root logger at a CliRunner stream that is closed by now.
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    yield
    root.handlers = saved


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def files(tmp_path: Path, questions: list[dict[str, object]] | str = QUESTIONS) -> tuple[str, str]:
    (tmp_path / "kb.md").write_text(KB)
    lines = questions if isinstance(questions, str) else "\n".join(json.dumps(q) for q in questions) + "\n"
    (tmp_path / "questions.jsonl").write_text(lines)
    return str(tmp_path / "kb.md"), str(tmp_path / "questions.jsonl")


def test_eval_reports_accuracy_per_kind_hand_offs_and_wrong_answers(tmp_path: Path) -> None:
    kb, questions = files(tmp_path)
    code, out = run("kb", "eval", questions, "--kb", kb, "--config", str(tmp_path / "none.toml"), "--sweep")
    assert code == 0, out
    assert out.startswith("4 questions, 4 entries (multilingual-e5-small; answer_threshold 0.82, ")
    assert "overall (right answer or right hand-off)     4/4    100.0%" in out
    assert "should hand off, handed off                  2/2    100.0%" in out
    assert "wrong answers                                0/4      0.0%" in out
    assert "  exact               1/1    100.0%" in out and "  out-of-scope        2/2    100.0%" in out
    assert "sweep (best overall with at most 5% of questions answered wrongly):" in out
    assert "->  overall 1.000, wrong 0" in out


def test_eval_lists_misses_with_the_reason(tmp_path: Path) -> None:
    kb, questions = files(tmp_path, [{"q": "When are you open?", "expect": "When are you open?", "kind": "a"},
                                     {"q": "asdfjkl", "expect": "Do you deliver?", "kind": "b"}])
    code, out = run("kb", "eval", questions, "--kb", kb, "--config", str(tmp_path / "none.toml"))
    assert code == 0, out
    assert "in-scope handed off                          1/2     50.0%" in out
    misses = out.split("misses:\n")[1].splitlines()
    assert misses[0] == "  line 2 [b] 'asdfjkl'"
    assert misses[1].startswith("      expected Do you deliver?; got hand-off (no entry above 0.82; closest: ")


def test_a_bad_question_file_names_the_line(tmp_path: Path) -> None:
    kb, questions = files(tmp_path, '{"q": "hi", "expect": null}\n{"q": "x", "expect": "Do you sell cars?"}\n')
    code, out = run("kb", "eval", questions, "--kb", kb, "--config", str(tmp_path / "none.toml"))
    assert code == 2
    assert "questions.jsonl:2: expect 'Do you sell cars?' is not a question of the knowledge base" in out
    kb, questions = files(tmp_path, '{"q": "hi", "expect": null}\nnot json\n')
    code, out = run("kb", "eval", questions, "--kb", kb, "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "questions.jsonl:2: not JSON" in out and "Traceback" not in out


def test_kb_test_shows_both_scores_and_the_decision(tmp_path: Path) -> None:
    kb, _ = files(tmp_path)
    code, out = run("kb", "test", "What's the capital of Australia?", "--kb", kb, "--config",
                    str(tmp_path / "none.toml"))
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0] == "meaning  question  words  entry" and len(lines) == 6
    assert lines[-1].startswith("decision: hands off: no entry above 0.82; closest: ")


def test_a_broken_knowledge_base_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_text("## Do you deliver?\nYes.\n\n## Do you deliver?\nNo.\n")
    code, out = run("kb", "test", "deliver?", "--kb", str(tmp_path / "kb.md"), "--config", str(tmp_path / "x.toml"))
    assert code == 2
    assert "line 4: the question 'Do you deliver?' is already asked at line 1" in out and "Traceback" not in out
    code, out = run("kb", "test", "deliver?", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml not found: pass --config, or --kb" in out


def test_an_unknown_embedding_model_is_named_at_check_config(tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_text(KB)
    (tmp_path / "config.toml").write_text(CONFIG.replace("[agent]", '[agent]\nembedding_model = "bert-large"'))
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2 and "agent.embedding_model" in out and "Traceback" not in out


def test_check_config_names_the_line_of_a_broken_knowledge_base(tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_bytes(b"## Do you deliver?\nYes.\n\n## Caf\xe9 hours?\nNine.\n")
    (tmp_path / "config.toml").write_text(CONFIG)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2
    assert "agent.knowledge_base" in out and "line 4: not UTF-8 text" in out and "Traceback" not in out
