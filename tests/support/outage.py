"""Database outages a test can start and end: a SQLite file write-locked by another process, and a TCP proxy
in front of PostgreSQL that can be cut (every connection dropped, new ones refused) and restored."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

_HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


class SqliteLock:
    """Another process holding SQLite's write lock: every write of Baton's waits, then fails "locked"."""

    def __init__(self, url: str) -> None:
        self.path = Path(make_url(url).database or "")
        self._process: asyncio.subprocess.Process | None = None

    async def hold(self) -> None:
        # Asynchronously: Baton in this event loop may be inside a write it must finish first.
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _HOLD_LOCK, str(self.path), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        assert line.strip() == b"locked"

    async def release(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.write(b"\n")
            await self._process.stdin.drain()
            await asyncio.wait_for(self._process.wait(), 10)
            self._process = None


class CuttableProxy:
    """127.0.0.1:port → target; `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connected = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.connected = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.connected = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.connected:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)
