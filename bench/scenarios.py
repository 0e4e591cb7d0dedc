"""The measured scenarios; each starts what it needs and returns rows for the table."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bench.common import (
    ALICE,
    CHANNEL,
    ROOT,
    cpu_seconds,
    customer_posts,
    free_port,
    percentile,
    rss_mb,
    sandboxes,
    spawn,
    spawn_baton,
    sql_counts,
    stop,
    wait_healthy,
    write_config,
)
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram

Row = tuple[str, str]


async def _closed_loop(tg: FakeTelegram, customers: list[int], per_customer: int, prefix: str) -> None:
    """Each customer sends its next message once the previous one was answered (no superseded asks)."""

    async def one(customer: int) -> None:
        for i in range(per_customer):
            await tg.customer_sends(customer, f"{prefix} {customer} {i}")
            await tg.wait_for_messages(customer, i + 1, timeout=60)

    await asyncio.gather(*(one(c) for c in customers))


async def relay(tmp: Path, db_url: str, label: str, *, customers: int = 40, per_customer: int = 8,
                latencies: bool = False, root: Path = ROOT) -> list[Row]:
    """(a) throughput, (b) latencies and (c) Baton's CPU per relayed message, on one Baton process
    (the source tree `root`: another checkout measures an older version in the same run)."""
    tg, slack = await sandboxes()
    port = free_port()
    counts = tmp / f"counts-{label}.json"
    process = spawn_baton(write_config(tmp, tg, slack, db_url=db_url, port=port), tmp / f"baton-{label}.log",
                          root=root, counts=counts)
    rows: list[Row] = []
    try:
        await wait_healthy(port, process)
        await _closed_loop(tg, [9000 + i for i in range(5)], 2, "warmup")  # imports, first threads, JIT caches
        total = customers * per_customer
        ids = [1000 + i for i in range(customers)]
        sql0 = await sql_counts(process, counts)
        cpu0, t0 = cpu_seconds(process.pid), time.monotonic()
        await _closed_loop(tg, ids, per_customer, "m")
        await slack.wait_for(lambda: sum(1 for m in customer_posts(slack) if m["text"].startswith("m ")) >= total,
                             timeout=120, what="all mirrored")
        wall, cpu = time.monotonic() - t0, cpu_seconds(process.pid) - cpu0
        sql = {k: v - sql0[k] for k, v in (await sql_counts(process, counts)).items()}
        rows.append((f"(a) relay throughput, {label}", f"{total / wall:.0f} msg/s ({total} msgs, {customers} "
                     "customers closed-loop; in→stored→agent→out→mirrored)"))
        rows.append((f"(c) Baton CPU per relayed message, {label}", f"{cpu / total * 1000:.2f} ms"))
        rows.append((f"(c) SQL per relayed message, {label}", f"{sql['transactions'] / total:.1f} transactions, "
                     f"{sql['statements'] / total:.1f} statements"))
        if latencies:
            rows += await _latencies(tg, slack, label)
            rows.append((f"(d) RSS after the run (empty DB), {label}", f"{rss_mb(process.pid):.0f} MB"))
        return rows
    finally:
        await stop(process)
        await tg.stop()
        await slack.stop()


async def _latencies(tg: FakeTelegram, slack: FakeSlack, label: str, rate: float = 20.0, seconds: float = 10.0
                     ) -> list[Row]:
    customers = [5000 + i for i in range(20)]
    await _closed_loop(tg, customers, 1, "open")
    sent: dict[str, float] = {}
    for k in range(int(rate * seconds)):  # open loop: a fixed offered load, whatever the answers
        text = f"lat {customers[k % len(customers)]} {k}"
        sent[text] = time.time()
        await tg.customer_sends(customers[k % len(customers)], text)
        await asyncio.sleep(1 / rate)
    await slack.wait_for(lambda: sum(1 for m in customer_posts(slack) if m["text"] in sent) >= len(sent),
                         timeout=60, what="latency mirrors")
    mirror = [float(m["ts"]) - sent[m["text"]] for m in customer_posts(slack) if m["text"] in sent]

    roots = {m["text"].split()[1]: root["ts"] for root in slack.messages(CHANNEL)
             for m in slack.thread(CHANNEL, root["ts"]) if m["text"].startswith("open ")}
    for customer in customers:
        await slack.click_button(ALICE, CHANNEL, roots[str(customer)], "takeover")
    await tg.wait_until(lambda: all(any("talking with" in (m.text or "") for m in tg.messages_to(c))
                                    for c in customers), timeout=30, what="takeover notices")
    op_sent: dict[str, float] = {}
    for k in range(int(rate * seconds)):
        customer = customers[k % len(customers)]
        text = f"op {customer} {k}"
        op_sent[text] = time.monotonic()
        await slack.user_posts(ALICE, CHANNEL, text, thread_ts=roots[str(customer)])
        await asyncio.sleep(1 / rate)
    await tg.wait_until(lambda: sum(1 for m in tg.sent if m.text in op_sent) >= len(op_sent), timeout=60,
                        what="operator deliveries")
    operator = [m.at - op_sent[m.text] for m in tg.sent if m.text in op_sent]
    ms = 1000.0
    return [(f"(b) customer→Slack mirror latency @ {rate:g} msg/s, {label}",
             f"p50 {percentile(mirror, 50) * ms:.0f} ms, p99 {percentile(mirror, 99) * ms:.0f} ms (n={len(mirror)})"),
            (f"(b) operator→customer latency @ {rate:g} msg/s, {label}",
             f"p50 {percentile(operator, 50) * ms:.0f} ms, p99 {percentile(operator, 99) * ms:.0f} ms "
             f"(n={len(operator)})")]


async def floor(tmp: Path, baton_cpu_ms: float | None, messages: int = 500) -> list[Row]:
    """(c) the same closed-loop load on a bare PTB echo bot; Baton's CPU per message as a multiple of it."""
    tg, slack = await sandboxes()
    process = spawn(["-m", "bench.echo_bot", tg.token, tg.url], tmp / "echo.log")
    try:
        await _closed_loop(tg, [9000], 1, "warmup")
        cpu0 = cpu_seconds(process.pid)
        await _closed_loop(tg, [1000 + i for i in range(50)], messages // 50, "m")
        per = (cpu_seconds(process.pid) - cpu0) / messages * 1000
    finally:
        await stop(process)
        await tg.stop()
        await slack.stop()
    ratio = f"; Baton/floor = {baton_cpu_ms / per:.1f}×" if baton_cpu_ms and per else ""
    return [("(c) PTB echo bot CPU per message (floor)", f"{per:.2f} ms{ratio}")]


async def many_conversations(tmp: Path, count: int = 100_000) -> list[Row]:
    """(d) startup time and RSS with `count` stored conversations, inserted directly with SQL."""
    from storage.db import Database

    path = tmp / "big.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    await db.dispose()
    con = sqlite3.connect(path)
    now = "2024-01-01 00:00:00.000000"
    con.executemany("INSERT INTO customer (id, tg_user_id, tg_chat_id, first_name, unreachable, created_at) "
                    "VALUES (?, ?, ?, ?, 0, ?)", ((i, 10_000_000 + i, 10_000_000 + i, f"C{i}", now)
                                                 for i in range(1, count + 1)))
    con.executemany("INSERT INTO conversation (id, customer_id, mode, mode_since, needs_human, opened_at, "
                    "closed_at, slack_channel, slack_thread_ts) VALUES (?, ?, 'closed', ?, 0, ?, ?, ?, ?)",
                    ((i, i, now, now, now, CHANNEL, f"1700000000.{i:06d}") for i in range(1, count + 1)))
    con.commit()
    con.close()
    tg, slack = await sandboxes()
    port = free_port()
    config = write_config(tmp, tg, slack, db_url=f"sqlite+aiosqlite:///{path}", port=port)
    process = spawn_baton(config, tmp / "baton-big.log")
    try:
        startup = await wait_healthy(port, process)
        await _closed_loop(tg, [1000 + i for i in range(10)], 3, "m")  # it still works, at this size
        rss = rss_mb(process.pid)
    finally:
        await stop(process)
        await tg.stop()
        await slack.stop()
    return [(f"(d) startup to healthy, {count:,} conversations", f"{startup:.2f} s (process start included)"),
            (f"(d) RSS, {count:,} conversations, after 30 relays", f"{rss:.0f} MB")]


async def slack_channel_limit(tmp: Path, rate: float = 1.5, seconds: float = 12.0, threads: int = 3,
                              tag: str = "(e)", root: Path = ROOT, label: str = "") -> list[Row]:
    """(e) one channel, Slack enforcing ~1 post/s: how far the mirror falls behind over time."""
    tg, slack = await sandboxes()
    slack.per_channel_post_limit = 1.0
    port = free_port()
    process = spawn_baton(write_config(tmp, tg, slack, db_url=f"sqlite+aiosqlite:///{tmp / f'paced-{threads}.db'}",
                                       port=port, paced=True), tmp / f"baton-paced-{threads}.log", root=root)
    customers = [7000 + i for i in range(threads)]
    try:
        await wait_healthy(port, process)
        await _closed_loop(tg, customers, 1, "open")
        # Let the opening posts (roots, first mirrors) drain so the lag starts near zero.
        opening = {f"open {c} 0" for c in customers}
        await slack.wait_for(lambda: opening <= set(_thread_lines(slack)), timeout=120, what="opening mirrors")
        await asyncio.sleep(3)
        calls0 = len(slack.call_log)
        sent: dict[str, float] = {}
        start = time.time()
        for k in range(int(rate * seconds)):
            text = f"burst {customers[k % len(customers)]} {k}"
            sent[text] = time.time()
            await tg.customer_sends(customers[k % len(customers)], text)
            await asyncio.sleep(1 / rate)

        def arrived() -> dict[str, float]:
            return {text: ts for text, ts in _thread_lines(slack).items() if text in sent}

        await slack.wait_for(lambda: len(arrived()) >= len(sent), timeout=240, what="paced mirrors")
        lags = sorted((sent[text] - start, ts - sent[text]) for text, ts in arrived().items())
        calls = slack.call_log[calls0:]
        retries = sum(1 for c in calls if c.get("status") == 429)
    finally:
        await stop(process)
        await tg.stop()
        await slack.stop()
    values = [lag for _, lag in lags]
    step = max(1, len(lags) // 6)
    series = ", ".join(f"t={at:.0f}s:{lag:.1f}s" for at, lag in lags[::step])
    return [(f"{tag} mirror lag, {rate:g} customer msg/s into {threads} threads of one channel (~{2 * rate:g} posts/s)"
             f"{label}",
             f"{series}; p50 {percentile(values, 50):.1f}s, p99 {percentile(values, 99):.1f}s, "
             f"max {max(values):.1f}s; {len(lags)}/{len(sent)} arrived; Slack 429s: {retries} of {len(calls)} calls")]


def _thread_lines(slack: FakeSlack) -> dict[str, float]:
    """Each message text seen in a thread, with the ts of the first post carrying it. Behind the limit
    Baton folds queued mirrors into one post ("Name (customer): text" per line)."""
    seen: dict[str, float] = {}
    for root in slack.messages(CHANNEL):
        for m in slack.thread(CHANNEL, root["ts"]):
            for line in (m.get("text") or "").splitlines():
                seen.setdefault(line.split(": ", 1)[-1], float(m["ts"]))
    return seen
