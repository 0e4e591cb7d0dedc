"""Bot API requests over aiohttp: python-telegram-bot's documented request interface (`BaseRequest`),
carried by the HTTP client Baton already uses for Slack.

Why not PTB's default transport (httpx over httpcore): measured against the sandbox, it costs about three
times the CPU per call (1.9-2.4 ms per `sendMessage` one at a time, 3.1-3.8 ms with 40 in flight, against
0.6-0.7 ms either way here), because httpcore re-examines every pooled connection, polling its socket,
twice per request. With one `sendMessage` per relayed message it was the largest single cost of the hot
path. Everything above `do_request` (building parameters, reading the JSON reply, error classes, 413s,
flood control) is still PTB's.

Timeouts keep PTB's meaning and defaults (5 s to connect and for each read; 1 s to wait for a pooled
connection), per socket operation, not per request, so a large file that keeps moving is never cut off.
aiohttp has no write timeout: a file upload is bounded by ten times PTB's (20 s) in all instead.
Proxies come from the environment (HTTPS_PROXY, NO_PROXY and the like),
as with PTB's default transport; they are read once per host, not per request (aiohttp's `trust_env` looks
them up, and ~/.netrc, on a worker thread for every request: two thread hops per call).
"""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_DEFAULT = type(BaseRequest.DEFAULT_NONE)
_TOKEN_IN_PATH = re.compile(r"/bot[^/\s]+")


class AiohttpRequest(BaseRequest):
    """One connection pool (`pool_size` connections) for the calls of one PTB `Bot`."""

    def __init__(self, *, pool_size: int = 64, connect_timeout: float | None = 5.0,
                 read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = pool_size
        self._connect, self._read, self._write = connect_timeout, read_timeout, write_timeout
        self._pool, self._media_write = pool_timeout, media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) → proxy URL from the environment

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Made here, not in __init__: an aiohttp session belongs to the running event loop.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size))

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
                         write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
                         connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
                         pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")  # as PTB's own transport says it
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData(quote_fields=False)  # a file's name as it is ("Счёт (1).pdf"), not %-encoded
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        read = _chosen(read_timeout, self._read)
        write = _chosen(write_timeout, self._media_write if files else self._write)
        connect = _chosen(connect_timeout, self._connect)
        pool = _chosen(pool_timeout, self._pool)
        # Per socket operation, as PTB means them, not for the whole request: a large file that keeps moving
        # is never cut off. aiohttp has no write timeout: an upload gets ten times its write timeout in all,
        # only so that a peer that stopped reading cannot hold it for ever.
        timeout = aiohttp.ClientTimeout(
            total=write * 10 if files and write is not None else None,
            connect=None if connect is None or pool is None else connect + pool,  # aiohttp's includes the pool
            sock_connect=connect, sock_read=read)
        try:
            async with session.request(method, url, data=data, timeout=timeout, proxy=self._proxy_for(url),
                                       headers={"User-Agent": self.USER_AGENT}) as response:
                return response.status, await response.read()
        # Some aiohttp errors quote the URL, whose path carries the bot token: the message is redacted, and the
        # original is not chained (a logged traceback would print it).
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut(f"Timed out talking to Telegram ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_TOKEN_IN_PATH.sub('/bot<token>', str(exc))}"
                               ) from None

    def _proxy_for(self, url: str) -> str | None:
        parsed = urlsplit(url)
        key = (parsed.scheme, parsed.hostname or "")
        if key not in self._proxies:
            bypass = bool(key[1]) and urllib.request.proxy_bypass(key[1])  # type: ignore[attr-defined]
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(parsed.scheme)
        return self._proxies[key]


def _chosen(value: object, default: float | None) -> float | None:
    """A per-call timeout as PTB passes it: DEFAULT_NONE means this transport's default."""
    if isinstance(value, _DEFAULT):
        return default
    return None if value is None else float(value)  # type: ignore[arg-type]
