"""Server-Sent Events for the sandbox pages: tell the browser that something changed, never what."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import web

KEEPALIVE_SECONDS = 15.0


async def stream_changes(request: web.Request, current: Callable[[], asyncio.Event],
                         closing: Callable[[], bool]) -> web.StreamResponse:
    """Send "change" now and after every change; `current()` is the Event the next change sets."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await response.write(b"retry: 1000\ndata: change\n\n")
        while not closing():
            waiter = current()
            try:
                await asyncio.wait_for(waiter.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if closing():
                break
            await response.write(b"data: change\n\n")
    return response
