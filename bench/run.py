"""Baton benchmarks (not tests): `make bench` or `python -m bench.run`. Prints a table; takes a few minutes."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import scenarios, search

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH = "baton_bench"


async def _postgres(*, create: bool = True) -> str | None:
    """A fresh database on the local server for the run (or just dropped), or None when none is reachable."""
    try:
        import asyncpg

        con = await asyncio.wait_for(asyncpg.connect(PG_ADMIN), 2)
    except Exception:
        return None
    try:
        await con.execute(f"DROP DATABASE IF EXISTS {PG_BENCH} WITH (FORCE)")
        if create:
            await con.execute(f"CREATE DATABASE {PG_BENCH}")
    finally:
        await con.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH}"


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    started = time.monotonic()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as name:
        tmp = Path(name)
        # BENCH_BEFORE=<another checkout>: (a)-(c) for that version too, in this run (before/after rows).
        before = Path(os.environ["BENCH_BEFORE"]) if os.environ.get("BENCH_BEFORE") else None
        if before is not None:
            (tmp / "before").mkdir()
            rows += await scenarios.relay(tmp / "before", f"sqlite+aiosqlite:///{tmp / 'before' / 'relay.db'}",
                                          "SQLite, before", latencies=True, root=before)
        rows += await scenarios.relay(tmp, f"sqlite+aiosqlite:///{tmp / 'relay.db'}", "SQLite", latencies=True)
        for name, root in ([("PostgreSQL, before", before)] if before is not None else []) + [
                ("PostgreSQL", scenarios.ROOT)]:
            pg = await _postgres()
            if pg is None:
                rows.append((f"(a) relay throughput, {name}", f"skipped ({PG_ADMIN} not reachable)"))
                continue
            (tmp / name).mkdir()
            rows += await scenarios.relay(tmp / name, pg, name, root=root)
        baton_cpu = next((float(v.split()[0]) for k, v in rows
                          if k == "(c) Baton CPU per relayed message, SQLite"), None)
        rows += await scenarios.floor(tmp, baton_cpu)
        rows += await scenarios.many_conversations(tmp)
        rows += await scenarios.slack_channel_limit(tmp)
        if before is not None:
            rows += await scenarios.slack_channel_limit(tmp / "before", rate=3, seconds=30, threads=20, tag="(g)",
                                                        root=before, label=", before")
        rows += await scenarios.slack_channel_limit(tmp, rate=3, seconds=30, threads=20, tag="(g)")
        rows += await search.run(tmp, "SQLite", f"sqlite+aiosqlite:///{tmp / 'search.db'}")
        pg = await _postgres()
        if pg is None:
            rows.append(("(f) search, PostgreSQL", f"skipped ({PG_ADMIN} not reachable)"))
        else:
            rows += await search.run(tmp, "PostgreSQL", pg)
            await _postgres(create=False)  # a million rows: not left behind
    width = max(len(k) for k, _ in rows)
    print(f"\n{'measure':<{width}} | result\n{'-' * width}-+-{'-' * 60}")
    for key, value in sorted(rows, key=lambda r: r[0][:3]):
        print(f"{key:<{width}} | {value}")
    print(f"\n(total {time.monotonic() - started:.0f} s, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    asyncio.run(main())
