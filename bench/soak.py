"""`python -m bench.soak [MINUTES] [RATE]`: is Baton's memory flat under a steady load? (default 30 min, 4 msg/s)

One Baton process on SQLite against the sandboxes, fed a realistic stream for MINUTES: new customers keep
arriving (every customer writes three messages, a second apart, and the agent answers each), and every
fifth conversation is taken over by an operator, who replies in the thread and resolves it. So every
per-customer structure (lanes, rate-limit buckets, caches) keeps meeting new keys: one that is never
pruned grows for the whole run. RSS is read from /proc every 30 s.

`BENCH_TRACEMALLOC=1 python -m bench.soak ...` also traces Python's allocations in Baton (slower) and prints
the source lines whose live memory grew most between a quarter of the run and its end.

Reading: the first minutes grow (imports, caches filling, SQLite's page cache); what matters is the slope
over the second half, in MB per 10 minutes, and that every message arrived.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    ALICE,
    CHANNEL,
    customer_posts,
    free_port,
    rss_mb,
    sandboxes,
    spawn_baton,
    stop,
    wait_healthy,
    write_config,
)
from sandbox.slack_server import FakeSlack

SAMPLE_SECONDS = 30.0


def _slope_mb_per_10_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    return cov / var * 600 if var else float("nan")


def _root_of(slack: FakeSlack, customer: int) -> str | None:
    for root in reversed(slack.messages(CHANNEL)):
        if f"soak {customer} " in str(root.get("text")) or any(
                f"soak {customer} " in str(m.get("text")) for m in slack.thread(CHANNEL, root["ts"])[:3]):
            return str(root["ts"])
    return None


async def _operator(slack: FakeSlack, customer: int) -> None:
    """Take the conversation over, reply in its thread, resolve it."""
    root = await slack.wait_for(lambda: _root_of(slack, customer), timeout=120, what=f"the thread of {customer}")
    await slack.click_button(ALICE, CHANNEL, root, "takeover")
    # As an operator does: reply once the card says the conversation is theirs. A reply handled before
    # the takeover stays an internal note (the operator is told), which is not what is measured here.
    await slack.wait_for(lambda: "has taken over" in json.dumps(slack.message(CHANNEL, root)), timeout=120,
                         what=f"the takeover of {customer}")
    await slack.user_posts(ALICE, CHANNEL, f"operator reply to {customer}", thread_ts=root)
    await slack.click_button(ALICE, CHANNEL, root, "resolve")


async def soak(minutes: float = 30.0, rate: float = 4.0) -> None:
    tg, slack = await sandboxes()
    with tempfile.TemporaryDirectory(prefix="baton-soak-") as name:
        tmp = Path(name)
        port = free_port()
        config = write_config(tmp, tg, slack, db_url=f"sqlite+aiosqlite:///{tmp / 'soak.db'}", port=port)
        traced = tmp / "grown.txt" if os.environ.get("BENCH_TRACEMALLOC") else None
        process = spawn_baton(config, tmp / "baton.log", counts=tmp / "counts.json" if traced else None,
                              env={"BENCH_TRACEMALLOC": str(traced)} if traced else None)
        baseline_taken = False
        sent = replies = taken = doubled = 0
        samples: list[tuple[float, float]] = []
        operators: set[asyncio.Task[None]] = set()
        try:
            await wait_healthy(port, process)
            started = time.monotonic()
            next_sample = started
            customer = 100_000
            while time.monotonic() - started < minutes * 60:
                # Three customers at a time, each writing its 1st, 2nd, 3rd message in turn.
                for nth in range(3):
                    for who in (customer, customer + 1, customer + 2):
                        await tg.customer_sends(who, f"soak {who} {nth}")
                        sent += 1
                        await asyncio.sleep(1 / rate)
                for who in (customer, customer + 1, customer + 2):
                    if who % 5 == 0:
                        task = asyncio.create_task(_operator(slack, who))
                        operators.add(task)
                        task.add_done_callback(operators.discard)
                customer += 3
                now = time.monotonic()
                if traced is not None and not baseline_taken and now - started >= minutes * 15:
                    process.send_signal(signal.SIGUSR2)  # the baseline: caches have filled by now
                    baseline_taken = True
                if now >= next_sample:
                    samples.append((now - started, rss_mb(process.pid)))
                    next_sample = now + SAMPLE_SECONDS
                    print(f"  {samples[-1][0] / 60:5.1f} min  RSS {samples[-1][1]:6.1f} MB  sent {sent}",
                          flush=True)
            await asyncio.gather(*operators, return_exceptions=True)
            taken = len([c for c in range(100_000, customer) if c % 5 == 0])
            await tg.wait_until(lambda: sum(1 for m in tg.sent if (m.text or "").startswith("operator reply to "))
                                >= taken, timeout=120, what="every operator reply delivered")
            await slack.wait_for(lambda: sum(1 for m in customer_posts(slack) if m["text"].startswith("soak "))
                                 >= sent, timeout=120, what="every message mirrored")
            samples.append((time.monotonic() - started, rss_mb(process.pid)))
            if traced is not None:
                process.send_signal(signal.SIGUSR2)
                await slack.wait_for(traced.exists, timeout=60, what="allocation report")
                print("\nlive memory grown most since a quarter of the run (tracemalloc):\n" + traced.read_text())
            replies = sum(1 for m in tg.sent if (m.text or "").startswith("operator reply to "))
            # Nothing doubled: each customer message mirrored once, each operator reply sent once.
            mirrored = [m["text"] for m in customer_posts(slack) if m["text"].startswith("soak ")]
            sent_replies = [m.text for m in tg.sent if (m.text or "").startswith("operator reply to ")]
            doubled = (len(mirrored) - len(set(mirrored))) + (len(sent_replies) - len(set(sent_replies)))
        finally:
            await stop(process)
            await tg.stop()
            await slack.stop()
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    print(f"\n(h) memory soak, SQLite, {minutes:g} min at {rate:g} msg/s ({sent} messages, "
          f"{customer - 100_000} customers, every message mirrored, {replies}/{taken} taken over, answered and "
          f"resolved by an operator, {doubled} doubled): RSS {samples[0][1]:.0f} MB after "
          f"{samples[0][0]:.0f} s, {max(r for _, r in samples):.0f} MB max, {samples[-1][1]:.0f} MB at the end; "
          f"slope over the second half {_slope_mb_per_10_min(half):+.1f} MB per 10 min")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(soak(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0,
                     float(sys.argv[2]) if len(sys.argv) > 2 else 4.0))
