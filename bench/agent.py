"""The FAQ agent's own numbers: model load, memory, decision latency at 30 and 2,000 entries, and (given a
labelled question set) accuracy. `python -m bench.agent [DIR] [--small]`, DIR holding knowledge.md and
questions.jsonl (e.g. ../shared/agent-eval); without DIR only the speed rows are measured; --small skips the
2,000-entry rows (minutes of indexing) to measure the 30-entry latency when the machine is quiet."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

_COLD = """
import json, resource, time, sys
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
from bot.agent import faq  # numpy, bm25s and the parser: what any agent needs
before = rss()
started = time.perf_counter()
from bot.agent.embedding import load_embedder
load_embedder(sys.argv[1])
loaded = time.perf_counter() - started
agent = faq.FaqAgent(None, text=sys.argv[2], background=False, embedding_model=sys.argv[1])
agent.decide("warm up")
print(json.dumps({"load_s": loaded, "rss_before": before, "rss_after": rss(),
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_TOPICS = ["order", "refund", "delivery", "invoice", "account", "password", "warranty", "repair", "gift card",
           "subscription", "store", "size", "discount", "payment", "shipping", "return", "exchange", "loyalty",
           "newsletter", "price"]
_ASKS = ["How do I change my {t}?", "Can I cancel my {t}?", "What does the {t} cost?", "Where can I see my {t}?",
         "Is there a limit on the {t}?", "Who do I contact about my {t}?", "How long does the {t} take?",
         "Can I get help with a {t} abroad?", "What happens to my {t} after {n} days?",
         "Do you offer a {t} for students?"]


def synthetic_kb(entries: int, seed: int = 7) -> str:
    """A knowledge base of `entries` distinct, plausible questions with two-sentence answers."""
    rng = random.Random(seed)
    parts = []
    for number in range(entries):
        topic = _TOPICS[number % len(_TOPICS)]
        ask = _ASKS[(number // len(_TOPICS)) % len(_ASKS)].format(t=topic, n=number)
        parts.append(f"## {ask} (case {number})\n\nFor a {topic}, see section {number} of your account page. "
                     f"It usually takes {rng.randint(1, 14)} days and costs {rng.randint(0, 90)} euros.\n")
    return "\n".join(parts)


def _cold(model: str, kb: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _COLD, model, kb], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _latency(agent: object, questions: list[str], repeat: int = 3, *, remembered: bool = False
             ) -> tuple[float, float]:
    """p50 and p95 in ms. Each round starts with no remembered message vectors unless `remembered`: the
    embedder keeps recent messages' vectors, which would otherwise hide the model's cost."""
    timings = []
    embedder = getattr(agent, "embedder", None)
    for _ in range(repeat):
        if embedder is not None and not remembered:
            embedder.forget_queries()
        for question in questions:
            started = time.perf_counter()
            agent.decide(question)  # type: ignore[attr-defined]
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def main(argv: list[str]) -> None:
    from bot.agent.faq import FaqAgent

    small = "--small" in argv
    argv = [a for a in argv if a != "--small"]
    dev = Path(argv[0]) if argv else None
    kb30 = (dev / "knowledge.md").read_text() if dev else synthetic_kb(30)
    questions = ([json.loads(line)["q"] for line in (dev / "questions.jsonl").read_text().splitlines() if line]
                 if dev else [f"how do I change my {t}" for t in _TOPICS])
    rows: list[tuple[str, str]] = []
    cold = _cold("multilingual-e5-small", kb30)
    rows.append(("model load and first embedding (fresh process)", f"{cold['load_s']:.2f} s"))
    rows.append(("RSS added by model + 30-entry index", f"{cold['rss_after'] - cold['rss_before']:.0f} MB "
                 f"(process {cold['rss_after']:.0f} MB, peak {cold['peak']:.0f} MB)"))
    started = time.perf_counter()
    agent = FaqAgent(None, text=kb30, background=False)
    rows.append((f"index {len(agent.entries)} entries", f"{time.perf_counter() - started:.1f} s"))
    p50, p95 = _latency(agent, questions)
    rows.append((f"decision latency, {len(agent.entries)} entries", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                 f"(n={3 * len(questions)})"))
    p50, p95 = _latency(agent, questions, repeat=1, remembered=True)
    rows.append(("same, a message seen before (vector remembered)", f"p50 {p50:.2f} ms, p95 {p95:.2f} ms"))
    if small:
        _print(rows)
        return
    started = time.perf_counter()
    big = FaqAgent(None, text=synthetic_kb(2000), background=False)
    rows.append(("index 2,000 entries (background thread in Baton)", f"{time.perf_counter() - started:.0f} s"))
    p50, p95 = _latency(big, questions)
    rows.append(("decision latency, 2,000 entries", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (n={3 * len(questions)})"))
    words = FaqAgent(None, text=synthetic_kb(2000), background=False, embedding_model="none")
    p50, p95 = _latency(words, questions, repeat=1)
    rows.append(("decision latency, 2,000 entries, words only", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"))
    _print(rows)
    if dev:
        print()
        subprocess.run([sys.executable, "-m", "bot", "kb", "eval", str(dev / "questions.jsonl"), "--kb",
                        str(dev / "knowledge.md"), "--no-errors"], check=False)


def _print(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(machine load average at the end: {load}; the machine has {os.cpu_count()} cores)")
    print(f"{'measure':<{width}} | result\n{'-' * width}-+-{'-' * 60}")
    for key, value in rows:
        print(f"{key:<{width}} | {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
