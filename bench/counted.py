"""`python bench/counted.py run ...`: the `baton` command, counting SQL statements and transactions.

Bench-only: SQLAlchemy event listeners on every engine count statements sent to the driver and
transactions ended (commit or rollback). SIGUSR1 writes the counts so far, as JSON, to $BENCH_COUNTS.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

counts = {"statements": 0, "transactions": 0}


def _statement(*_args: Any, **_kwargs: Any) -> None:
    counts["statements"] += 1


def _transaction(*_args: Any) -> None:
    counts["transactions"] += 1


def _dump(*_args: Any) -> None:
    path = Path(os.environ["BENCH_COUNTS"])
    path.with_suffix(".tmp").write_text(json.dumps(counts))
    path.with_suffix(".tmp").replace(path)  # whole or not at all for the reader


event.listen(Engine, "before_cursor_execute", _statement)
event.listen(Engine, "commit", _transaction)
event.listen(Engine, "rollback", _transaction)
signal.signal(signal.SIGUSR1, _dump)

if __name__ == "__main__":
    from bot.cli import main

    main()
