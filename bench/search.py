"""(f) `/baton search` over 1,000,000 stored messages: latency of storage.history.search_messages.

The data is bulk-inserted (sqlite3 executemany with the FTS triggers on; PostgreSQL COPY with the GIN
index in place), on a schema made by the real migrations. Texts are 4-14 words drawn from a Zipf-like
vocabulary of Latin and Cyrillic words (a few very common words, a long tail of rare ones). Queries:
whole words drawn by the same frequencies, 3-4 letter prefixes, two-word queries, and words that
match nothing; each is timed through Database.transaction() as the Slack command runs it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from storage import history
from storage.db import Database
from storage.text_fold import searchable

MESSAGES = 1_000_000
PER_CONVERSATION = 20
QUERIES = 400
_LATIN = ["ka", "lo", "mi", "ne", "sta", "ri", "po", "ver", "tu", "an", "bel", "cor", "di", "fe", "gu", "hal"]
_CYRILLIC = ["при", "вет", "за", "каз", "до", "ста", "вка", "мо", "ло", "ко", "ры", "ба", "се", "ть", "ну", "жно"]


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = _CYRILLIC if rng.random() < 0.3 else _LATIN
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        words.add(word.capitalize() if rng.random() < 0.1 else word)
    return sorted(words)


def _texts(rng: random.Random, vocab: list[str], cum: list[float]) -> Iterator[str]:
    for _ in range(MESSAGES):
        yield " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 14)))


def _queries(rng: random.Random, vocab: list[str], cum: list[float]) -> list[str]:
    drawn = rng.choices(vocab, cum_weights=cum, k=QUERIES)
    out = []
    for i, word in enumerate(drawn):
        kind = i % 4
        if kind == 0:
            out.append(word.upper() if i % 8 == 0 else word)
        elif kind == 1:
            out.append(word[: rng.randint(3, 4)])
        elif kind == 2:
            out.append(f"{word} {rng.choices(vocab, cum_weights=cum)[0]}")
        else:
            out.append(word + "xq")  # matches nothing
    return out


def _fill_sqlite(path: Path, texts: Iterator[str]) -> None:
    now = datetime.now(UTC).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    conversations = MESSAGES // PER_CONVERSATION
    con.executemany("INSERT INTO customer (id, tg_user_id, tg_chat_id, first_name, unreachable, blocked, created_at, "
                    "opted_out, tags, search_name) VALUES (?, ?, ?, ?, 0, 0, ?, 0, '', ?)",
                    ((i, i, i, f"Customer {i}", now, f"customer {i}") for i in range(1, conversations + 1)))
    con.executemany("INSERT INTO conversation (id, customer_id, mode, mode_since, needs_human, opened_at) "
                    "VALUES (?, ?, 'closed', ?, 0, ?)", ((i, i, now, now) for i in range(1, conversations + 1)))
    rows = ((n // PER_CONVERSATION + 1, text, searchable(text), now) for n, text in enumerate(texts))
    while batch := list(itertools.islice(rows, 50_000)):
        con.executemany("INSERT INTO message (conversation_id, author, is_note, kind, text, html, created_at, "
                        "search_text) VALUES (?, 'customer', 0, 'text', ?, '', ?, ?)",
                        ((c, t, now, f) for c, t, f, now in batch))
        con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


async def _fill_postgres(url: str, texts: Iterator[str]) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    now = datetime.now(UTC)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    con = await asyncpg.connect(dsn)
    try:
        conversations = MESSAGES // PER_CONVERSATION
        await con.copy_records_to_table(
            "customer", columns=["id", "tg_user_id", "tg_chat_id", "first_name", "unreachable", "blocked",
                                 "created_at", "opted_out", "tags", "search_name"],
            records=[(i, i, i, f"Customer {i}", False, False, now, False, "", f"customer {i}")
                     for i in range(1, conversations + 1)])
        await con.copy_records_to_table(
            "conversation", columns=["id", "customer_id", "mode", "mode_since", "needs_human", "opened_at"],
            records=[(i, i, "closed", now, False, now) for i in range(1, conversations + 1)])
        columns = ["conversation_id", "author", "is_note", "kind", "text", "html", "created_at", "search_text"]
        rows = ((n // PER_CONVERSATION + 1, "customer", False, "text", t, "", now, searchable(t))
                for n, t in enumerate(texts))
        while batch := list(itertools.islice(rows, 50_000)):
            await con.copy_records_to_table("message", columns=columns, records=batch)
        await con.execute("VACUUM ANALYZE")
    finally:
        await con.close()


async def _timed(db: Database, queries: list[str]) -> tuple[list[float], int]:
    await _search(db, queries[0])  # warm the connection and the caches
    times, hits = [], 0
    for query in queries:
        started = time.perf_counter()
        hits += bool(await _search(db, query))
        times.append((time.perf_counter() - started) * 1000)
    return times, hits


async def _search(db: Database, query: str) -> list[object]:
    async with db.transaction() as session:
        return list(await history.search_messages(session, query, limit=15))


async def run(tmp: Path, label: str, url: str) -> list[tuple[str, str]]:
    rng = random.Random(11)
    vocab = _vocabulary(rng)
    cum = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    rng.shuffle(vocab)  # frequency independent of the alphabet
    db = Database(url)
    try:
        await db.upgrade()
        started = time.monotonic()
        if db.is_sqlite:
            path = url.split("///", 1)[1]
            await asyncio.to_thread(_fill_sqlite, Path(path), _texts(rng, vocab, cum))
        else:
            await _fill_postgres(url, _texts(rng, vocab, cum))
        loaded = time.monotonic() - started
        times, hits = await _timed(db, _queries(rng, vocab, cum))
    finally:
        await db.dispose()
    q = statistics.quantiles(times, n=100)
    return [(f"(f) search p50/p95/max, {MESSAGES:,} messages, {label}",
             f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, max {max(times):.1f} ms (n={len(times)}, {hits} with hits; "
             f"loaded in {loaded:.0f} s)")]
