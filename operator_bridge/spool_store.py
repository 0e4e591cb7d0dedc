"""The Slack input spool on disk: a small SQLite file of its own, apart from Baton's database.

Every Slack input is written here before Slack is acknowledged, so an input survives the main database
being away (locked, cut off) and a crash. Rows are applied in id order per lane (a Slack thread, or a
person), then marked done; done rows are kept for a while so a re-delivery of the same input (same
platform id) is recognised and ignored.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

# Longer than Slack's 5-minute signature window: a re-sent request in that window is recognised.
KEEP_DONE_SECONDS = 15 * 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_input (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL UNIQUE,
    lane TEXT NOT NULL,
    listener TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS slack_input_pending ON slack_input (lane, id) WHERE done_at IS NULL;
"""


@dataclass(frozen=True)
class SpooledInput:
    id: int
    platform_id: str
    lane: str
    listener: str
    body: dict[str, Any]
    received_at: float
    attempts: int


class SpoolStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock: int | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One process per spool: two would both apply what the other received.
        lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise RuntimeError(f"the Slack input spool {self.path} is in use by another Baton process; give each "
                               "instance its own slack.spool_path") from None
        self._lock = lock
        db = await aiosqlite.connect(self.path, isolation_level=None)
        # FULL: a row is on disk when add() returns, before Slack hears the ack (even across a power cut).
        await db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;"
                               + _SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the Slack input spool is not open")
        return self._db

    async def add(self, platform_id: str, lane: str, listener: str, body: dict[str, Any]) -> int | None:
        """The new row's id, or None when this input was spooled before (a re-delivery)."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO slack_input (platform_id, lane, listener, body, received_at) "
            "VALUES (?, ?, ?, ?, ?)", (platform_id, lane, listener, json.dumps(body), time.time()))
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def head(self, lane: str) -> SpooledInput | None:
        """The oldest input of `lane` not applied yet."""
        cursor = await self.db.execute(
            "SELECT id, platform_id, lane, listener, body, received_at, attempts FROM slack_input "
            "WHERE lane = ? AND done_at IS NULL ORDER BY id LIMIT 1", (lane,))
        row = await cursor.fetchone()
        if row is None:
            return None
        return SpooledInput(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    async def pending_lanes(self) -> list[str]:
        cursor = await self.db.execute(
            "SELECT lane FROM slack_input WHERE done_at IS NULL GROUP BY lane ORDER BY MIN(id)")
        return [row[0] for row in await cursor.fetchall()]

    async def pending_count(self) -> int:
        cursor = await self.db.execute("SELECT COUNT(*) FROM slack_input WHERE done_at IS NULL")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def failed_attempt(self, input_id: int, error: str) -> None:
        await self.db.execute("UPDATE slack_input SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                              (error[:500], input_id))

    async def done(self, input_id: int) -> None:
        now = time.time()
        await self.db.execute("UPDATE slack_input SET done_at = ? WHERE id = ?", (now, input_id))
        await self.db.execute("DELETE FROM slack_input WHERE done_at < ?", (now - KEEP_DONE_SECONDS,))
