"""FakeSlack: an aiohttp fake of Slack's Web API, Events API and Socket Mode for tests and demos."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.slack_files import FilesApiMixin
from sandbox.slack_state import Ephemeral, Response
from sandbox.slack_ui import SandboxUiMixin
from sandbox.slack_webapi import WebApiMixin

__all__ = ["Ephemeral", "FakeSlack", "Response"]


class FakeSlack(WebApiMixin, FilesApiMixin, SandboxUiMixin):
    """One fake workspace with one installed app (the bot Baton runs as)."""

    def __init__(self, *, bot_token: str = "xoxb-test-token", app_token: str = "xapp-test-token",
                 signing_secret: str = "test-signing-secret", team_id: str = "T0BATON",
                 app_id: str = "A0BATON", bot_user_id: str = "U0BATONBOT", bot_id: str = "B0BATON") -> None:
        self._change = asyncio.Event()
        super().__init__(team_id=team_id, app_id=app_id, bot_user_id=bot_user_id, bot_id=bot_id)
        self.bot_token, self.app_token, self.signing_secret = bot_token, app_token, signing_secret
        self.verification_token = "sandbox-verification-token"  # legacy field Slack still sends
        self.events_url: str | None = None
        self.ack_timeout = 3.0  # Slack's own ack deadline
        self.connect_timeout = 5.0  # how long human actions wait for a socket client to (re)connect
        self.per_channel_post_limit: float | None = None
        self.post_burst = 3
        self.deliveries: list[dict] = []
        self.call_log: list[dict] = []
        self._faults: dict[str, list[dict]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._tickets: set[str] = set()
        self._triggers: set[str] = set()
        self._pending_uploads: dict[str, dict] = {}
        self.hosted_files: dict[str, dict] = {}  # files people shared: file id -> data, mimetype, name
        self.file_downloads: list[dict] = []  # every GET of a url_private(_download), allowed or not
        self._response_urls: dict[str, dict] = {}
        self._conns: list = []
        self._acks: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None
        self._last_event: dict | None = None
        self._socket_seq = 0
        self._rr = 0
        self._runner: web.AppRunner | None = None
        self._base: str | None = None
        self._ui_closing = False

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._handle_file_download)
        app.router.add_get("/files-pri/{team_file}/{name}", self._handle_file_download)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/link/", self._handle_socket)
        app.router.add_get("/", self._handle_index)
        app.router.add_get("/_sandbox/state", self._handle_state)
        app.router.add_post("/_sandbox/post", self._handle_post)
        app.router.add_post("/_sandbox/click", self._handle_click)
        app.router.add_post("/_sandbox/command", self._handle_command)
        app.router.add_post("/_sandbox/shortcut", self._handle_shortcut)
        app.router.add_post("/_sandbox/edit", self._handle_edit)
        app.router.add_post("/_sandbox/share", self._handle_share)
        app.router.add_post("/_sandbox/delete", self._handle_delete)
        app.router.add_post("/_sandbox/home", self._handle_open_home)
        app.router.add_post("/_sandbox/home_click", self._handle_home_click)
        app.router.add_post("/_sandbox/view_submit", self._handle_view_submit)
        app.router.add_post("/_sandbox/view_close", self._handle_view_close)
        app.router.add_get("/_sandbox/fragments", self._handle_fragments)
        app.router.add_get("/_sandbox/events", self._handle_events)
        app.router.add_get("/_sandbox/static/{name}", self._handle_static)
        app.router.add_get("/_sandbox/files/{file_id}", self._handle_file_view)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base = f"http://{bound_host}:{bound_port}/"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Close sockets and the server; stop app clients first or they will try to reconnect."""
        self._ui_closing = True
        self.changed()  # ends the pages' event streams
        for method in list(self._holds):
            self.release(method)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_sockets()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:  # type: ignore[override]
        if self._base is None:
            raise RuntimeError("FakeSlack is not started")
        return self._base

    @property
    def api_url(self) -> str:
        return f"{self.url}api/"

    def _socket_url(self, ticket: str) -> str:
        return f"ws{self.url[4:]}link/?ticket={ticket}&app_id={self.app_id}"

    # --- change notification ---------------------------------------------------------------

    def changed(self) -> None:
        # Swap in a fresh Event so every waiter that saw the old one wakes exactly once per change.
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._change.wait(), timeout)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, *,
                       what: str = "condition") -> Any:
        """Return predicate()'s first truthy value; LookupError in the predicate counts as not yet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = self._change  # grab before evaluating so no change can slip in between
            try:
                value = predicate()
            except LookupError:
                value = None
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}\n{self.dump_recent()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)

    def dump_recent(self, n: int = 15) -> str:
        lines = [f"recent Web API calls ({len(self.call_log)} total):"]
        for entry in self.call_log[-n:]:
            args = {k: (v if len(repr(v)) < 120 else repr(v)[:117] + "...") for k, v in entry["args"].items()}
            lines.append(f"  {entry['method']} -> {entry.get('error') or 'ok'} {args}")
        lines.append(f"recent deliveries ({len(self.deliveries)} total):")
        for d in self.deliveries[-5:]:
            inner = d["payload"].get("event", d["payload"])
            resp = d["response"]
            lines.append(f"  {d['type']} {inner.get('type')}/{inner.get('subtype', '')} -> "
                         f"{resp.status if isinstance(resp, Response) else 'pending'}")
        return "\n".join(lines)
