"""Delivers events, slash commands and interactivity to the app: Socket Mode hub or signed HTTP POSTs."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from sandbox.slack_state import Response, SlackWorkspace

log = logging.getLogger(__name__)
_ANSWERABLE = ("view_submission", "block_suggestion")


@dataclass
class _SocketConn:
    ws: web.WebSocketResponse
    number: int
    draining: bool = False  # told to disconnect: gets no new envelopes
    envelopes: set[str] = field(default_factory=set)


class DeliveryMixin(SlackWorkspace):
    """Socket Mode server and HTTP-mode client; mixed into FakeSlack."""

    signing_secret: str
    events_url: str | None
    ack_timeout: float
    connect_timeout: float
    verification_token: str
    deliveries: list[dict]
    _conns: list[_SocketConn]
    _acks: dict[str, asyncio.Future]
    _tickets: set[str]
    _tasks: set[asyncio.Task]
    _session: aiohttp.ClientSession | None
    _last_event: dict | None
    _socket_seq: int
    _rr: int

    # --- shared ----------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        base = f"v0:{ts}:".encode() + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(ts)}

    def event_wrapper(self, event: dict) -> dict:
        event = copy.deepcopy(event)
        event.setdefault("event_ts", event.get("ts") or self.next_ts())
        if event.get("channel") and event.get("type") == "message":
            event.setdefault("channel_type", self.channel_type(event["channel"]))
        return {
            "token": self.verification_token, "team_id": self.team_id, "api_app_id": self.app_id,
            "event": event, "type": "event_callback", "event_id": self.new_id("Ev"),
            "event_time": int(float(event["event_ts"])),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id, "user_id": self.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
            "event_context": f"4-sandbox-{self.team_id}-{event.get('channel', '')}",
        }

    def _has_consumer(self) -> bool:
        # A socket client counts once it asked for a URL, so a connect in flight is waited for.
        return bool(self.events_url or self._tickets)

    def _emit_echo(self, event: dict) -> None:
        """Bot-side changes are echoed as events without blocking the Web API response."""
        if not self._has_consumer():
            return
        payload = self.event_wrapper(event)
        task = asyncio.get_running_loop().create_task(self._deliver("events_api", payload, echo=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver_event(self, event: dict) -> Response:
        """Send any Events API event (wrapped in event_callback) and wait for the ack."""
        payload = self.event_wrapper(event)
        self._last_event = payload
        return await self._deliver("events_api", payload)

    async def redeliver_last_event(self, *, retry_num: int = 1, reason: str = "http_timeout") -> Response:
        """Send the last human-caused event again, same event_id, marked as a retry (echoes don't count)."""
        if self._last_event is None:
            raise LookupError("no event was delivered yet")
        return await self._deliver("events_api", self._last_event, retry_attempt=retry_num,
                                   retry_reason=reason)

    async def verify_url(self) -> Response:
        """HTTP mode: what Slack sends when the Request URL is configured."""
        challenge = {"token": self.verification_token, "type": "url_verification",
                     "challenge": uuid.uuid4().hex}
        return await self._deliver("events_api", challenge)

    async def _deliver(self, kind: str, payload: dict, *, retry_attempt: int = 0, retry_reason: str = "",
                       echo: bool = False) -> Response:
        record: dict[str, Any] = {"type": kind, "payload": payload, "retry_attempt": retry_attempt,
                                  "echo": echo, "response": None}
        self.deliveries.append(record)
        if self.events_url:
            resp = await self._deliver_http(kind, payload, retry_attempt, retry_reason)
        elif self._tickets:
            resp = await self._deliver_socket(kind, payload, retry_attempt, retry_reason)
        else:
            resp = Response(status=0)
        record["response"] = resp
        self.changed()
        return resp

    # --- HTTP mode -------------------------------------------------------------------------

    async def _deliver_http(self, kind: str, payload: dict, retry_attempt: int,
                            retry_reason: str) -> Response:
        # Events are JSON; slash commands are flat forms; interactivity is a form with payload=<json>.
        ctype = "application/x-www-form-urlencoded"
        if kind == "events_api":
            body, ctype = json.dumps(payload).encode(), "application/json"
        elif kind == "slash_commands":
            body = urlencode(payload).encode()
        else:
            body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {"Content-Type": ctype, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                   **self.sign(body)}
        if retry_attempt:
            headers |= {"X-Slack-Retry-Num": str(retry_attempt), "X-Slack-Retry-Reason": retry_reason}
        try:
            status, text, ctype = await self._post(body, headers)
        except TimeoutError:
            return Response(status=408)
        except aiohttp.ClientError as exc:
            log.warning("sandbox slack: delivery to %s failed: %s", self.events_url, exc)
            return Response(status=503)
        if not text:
            return Response(status=status)
        if ctype == "application/json":
            try:
                return Response(status=status, body=json.loads(text))
            except ValueError:
                pass
        return Response(status=status, body=text)

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
        if self._session is None:
            raise RuntimeError("FakeSlack is not started")
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        url = self.events_url or ""
        async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
            return r.status, await r.text(), r.content_type

    async def send_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if not self.events_url:
            raise RuntimeError("send_raw needs HTTP mode (events_url set)")
        status, text, _ = await self._post(body, headers)
        return status, text

    # --- Socket Mode -----------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        return sum(1 for c in self._conns if not c.draining and not c.ws.closed)

    @property
    def socket_connects(self) -> int:
        """Total socket connections ever accepted (grows by one per reconnect)."""
        return self._socket_seq

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        # autoping answers the client's "sdk-ping-pong:<t>" pings with an identical pong.
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._socket_seq += 1
        conn = _SocketConn(ws=ws, number=self._socket_seq)
        # hello goes out before the connection is eligible for envelopes, as with Slack.
        await ws.send_json({
            "type": "hello", "num_connections": self.socket_connections + 1,
            "debug_info": {"host": "applink-sandbox", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        })
        self._conns.append(conn)
        self.changed()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    log.warning("sandbox slack: non-JSON socket message %r", msg.data)
                    continue
                future = self._acks.get(data.get("envelope_id", ""))
                if future is not None and not future.done():
                    future.set_result(data.get("payload"))
        except ConnectionResetError:
            pass  # the app went away while its ping was being answered: a closed connection, as any other
        finally:
            self._conns.remove(conn)
            for envelope_id in conn.envelopes:
                future = self._acks.get(envelope_id)
                if future is not None and not future.done():
                    future.set_exception(ConnectionResetError("socket closed before ack"))
            self.changed()
        return ws

    async def _pick_connection(self) -> _SocketConn | None:
        deadline = asyncio.get_running_loop().time() + self.connect_timeout
        while True:
            live = [c for c in self._conns if not c.draining and not c.ws.closed]
            if live:
                self._rr += 1
                return live[self._rr % len(live)]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            await self._wait_change(min(remaining, 0.25))

    async def _wait_change(self, timeout: float) -> None:
        raise NotImplementedError

    async def _deliver_socket(self, kind: str, payload: dict, retry_attempt: int,
                              retry_reason: str) -> Response:
        # A client whose socket drops before acking gets the envelope again on a new connection.
        for _attempt in range(3):
            conn = await self._pick_connection()
            if conn is None:
                return Response(status=0)
            envelope_id = str(uuid.uuid4())
            # Only slash commands and view submissions/option loads may answer with a payload in the ack.
            accepts = kind == "slash_commands" or payload.get("type") in _ANSWERABLE
            envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                                        "accepts_response_payload": accepts}
            if kind == "events_api":
                envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            self._acks[envelope_id] = future
            conn.envelopes.add(envelope_id)
            try:
                await conn.ws.send_json(envelope)
                ack = await asyncio.wait_for(future, self.ack_timeout)
                return Response(status=200, body=ack)
            except TimeoutError:
                return Response(status=408)
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                retry_attempt, retry_reason = retry_attempt + 1, "connection_closed"
            finally:
                self._acks.pop(envelope_id, None)
                conn.envelopes.discard(envelope_id)
        return Response(status=503)

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        for conn in list(self._conns):
            conn.draining = True
            if not conn.ws.closed:
                await conn.ws.send_json({"type": "disconnect", "reason": reason,
                                         "debug_info": {"host": "applink-sandbox"}})
        self.changed()

    async def _close_sockets(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")
