"""A throwaway HTTP server on 127.0.0.1 for a test: a webhook receiver, a stalling peer, a proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def local_server(*routes: tuple[str, str, Handler]) -> AsyncIterator[int]:
    """Serves `routes` ((method, path, handler); "*" for any method) on a free port, which it yields."""
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
