"""Profile the relay hot path once: `python -m bench.spy` (needs `pip install py-spy`); prints top frames.
PROFILE_CUSTOMERS (20) sets the load (5 messages each); PROFILE_STACKS=<file> keeps py-spy's stacks."""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import scenarios


def _name(frame: str) -> str:
    return frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"


def top(path: Path, limit: int = 15, *, leaf: bool = False) -> list[tuple[str, float]]:
    """Share of samples per function from py-spy's collapsed stacks: inclusive, or self time with `leaf`."""
    total, counts = 0, collections.Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        frames = stack.split(";")
        for frame in {frames[-1]} if leaf else set(frames):
            counts[_name(frame)] += int(n)
    return [(frame, count / total) for frame, count in counts.most_common(limit)] if total else []


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="baton-profile-") as name:
        out = Path(name) / "stacks.txt"
        os.environ["BENCH_PROFILE"] = str(out)
        await scenarios.relay(Path(name), f"sqlite+aiosqlite:///{Path(name) / 'p.db'}", "profile",
                              customers=int(os.environ.get("PROFILE_CUSTOMERS", 20)), per_customer=5)
        await asyncio.sleep(1)
        if os.environ.get("PROFILE_STACKS"):  # keep the collapsed stacks (e.g. for a flame graph)
            shutil.copyfile(out, os.environ["PROFILE_STACKS"])
        limit = int(sys.argv[1]) if len(sys.argv) > 1 else 25
        for title, leaf in (("inclusive", False), ("self", True)):
            print(f"--- {title}")
            for frame, share in top(out, limit, leaf=leaf):
                print(f"{share:6.1%}  {frame}")


if __name__ == "__main__":
    asyncio.run(main())
