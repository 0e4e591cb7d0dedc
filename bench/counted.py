"""`python bench/counted.py run ...`: the `baton` command, counting SQL statements and transactions.

Bench-only: SQLAlchemy event listeners on every engine (and storage.direct's, for the statements it runs on
the driver itself) count statements sent to the driver and transactions ended (commit or rollback).
SIGUSR1 writes the counts so far, as JSON, to $BENCH_COUNTS.
With $BENCH_TRACEMALLOC (a path), Python's allocations are traced too: the first SIGUSR2 takes a baseline,
each later one writes the 25 source lines whose live memory grew most since then to that path.
With $BENCH_CPROFILE (a path), the first SIGUSR2 starts cProfile and the second writes its stats there
(`python -m pstats`): a deterministic profile of the measured window only, startup and warm-up excluded.
"""

from __future__ import annotations

import cProfile
import json
import os
import signal
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from storage import direct

counts = {"statements": 0, "transactions": 0}
_log = open(os.environ["BENCH_SQL_LOG"], "a") if os.environ.get("BENCH_SQL_LOG") else None  # noqa: SIM115


def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    counts["statements"] += 1
    if _log is not None:  # every statement, one line each, to see what a relayed message costs
        _log.write(" ".join(statement.split())[:160] + "\n")


def _transaction(*_args: Any) -> None:
    counts["transactions"] += 1
    if _log is not None:
        _log.write("-- end of transaction\n")


def _dump(*_args: Any) -> None:
    path = Path(os.environ["BENCH_COUNTS"])
    path.with_suffix(".tmp").write_text(json.dumps(counts))
    path.with_suffix(".tmp").replace(path)  # whole or not at all for the reader


_baseline: list[tracemalloc.Snapshot] = []


def _trace(*_args: Any) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if not _baseline:
        _baseline.append(snapshot)
        return
    grown = snapshot.compare_to(_baseline[0], "lineno")[:25]
    path = Path(os.environ["BENCH_TRACEMALLOC"])
    path.with_suffix(".tmp").write_text("\n".join(str(stat) for stat in grown) + "\n")
    path.with_suffix(".tmp").replace(path)


_profiler: list[cProfile.Profile] = []


def _cprofile(*_args: Any) -> None:
    if not _profiler:
        _profiler.append(cProfile.Profile())
        _profiler[0].enable()
        return
    _profiler[0].disable()
    _profiler[0].dump_stats(os.environ["BENCH_CPROFILE"])


if os.environ.get("BENCH_CPROFILE"):
    signal.signal(signal.SIGUSR2, _cprofile)
elif os.environ.get("BENCH_TRACEMALLOC"):
    tracemalloc.start()
    signal.signal(signal.SIGUSR2, _trace)

event.listen(Engine, "before_cursor_execute", _statement)
direct.on_statement.append(lambda sql: _statement(None, None, sql))  # run on the driver: the engine never sees them
event.listen(Engine, "commit", _transaction)
event.listen(Engine, "rollback", _transaction)
signal.signal(signal.SIGUSR1, _dump)

if __name__ == "__main__":
    from bot.cli import main

    main()
