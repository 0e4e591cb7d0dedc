"""Applies spooled Slack inputs: in order per lane (a thread, or a person), each until it took effect.

An input whose listener fails because the database is away (locked, cut off, restarting) stays at the
head of its lane and is tried again with capped backoff; later inputs of that lane wait behind it, other
lanes go on. Its author is told once that it is saved and will be applied. An input that still cannot be
applied after `give_up_seconds`, or that fails for another reason three times, is dropped and its author
gets a direct message with what they wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import exc as sa_exc

from bot.core.tasks import TaskGroup
from operator_bridge import spool_text
from operator_bridge.spool_store import SpooledInput, SpoolStore

log = logging.getLogger(__name__)

# Failures of anything but the database are retried this often in all before the input is given up.
OTHER_FAILURE_ATTEMPTS = 3

# (body, the ack to use) → applies the input; raises when it did not take effect.
Apply = Callable[[dict[str, Any], "LateAck"], Awaitable[None]]


def database_away(exc: BaseException) -> bool:
    """A failure that says the database could not be reached or used right now, not that the input is bad."""
    if isinstance(exc, (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.ProgrammingError)):
        return False
    return isinstance(exc, (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.InvalidRequestError, OSError,
                            TimeoutError, ConnectionError))


class LateAck:
    """The `ack` a spooled listener gets. Until Slack has been answered it is Bolt's; after that (a notice
    went out, or the input is applied from the spool after a restart) what the listener would have said
    in the ack reaches its author privately instead."""

    def __init__(self, ack: Callable[..., Awaitable[Any]] | None, late: Callable[..., Awaitable[None]]) -> None:
        self._ack = ack
        self.late = late
        self.acked = ack is None
        self.answered = asyncio.Event()

    async def __call__(self, text: Any = "", **kwargs: Any) -> None:
        if not self.acked and self._ack is not None:
            self.acked = True
            try:
                await self._ack(text, **kwargs)
            finally:
                self.answered.set()
            return
        if text or kwargs.get("blocks") or kwargs.get("errors"):
            await self.late(text, **kwargs)


@dataclass
class _Live:
    """An input a listener is waiting on: its ack, and whether it took effect or was deferred."""

    ack: LateAck
    lane: str
    body: dict[str, Any]
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    deferred: bool = False
    told: bool = False  # the ack itself said the input is saved


class SpoolRunner:
    def __init__(self, store: SpoolStore, client: AsyncWebClient, *, give_up_seconds: float,
                 retry_base_seconds: float = 0.5, retry_max_seconds: float = 5.0) -> None:
        self.store = store
        self.client = client
        self.give_up_seconds = give_up_seconds
        self.retry_base = retry_base_seconds
        self.retry_max = retry_max_seconds
        self.appliers: dict[str, Apply] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._tasks = TaskGroup("slack-spool")  # the lanes' tasks: referenced until done, failures logged
        self._dirty: set[str] = set()
        self._live: dict[int, _Live] = {}
        self._stopping = asyncio.Event()
        self._opened = False
        self._applying = False  # inputs are kept, not applied, until start(): who is an operator is known then

    async def open(self) -> None:
        """Take inputs from now on (the HTTP server may answer Slack before the Slack side has started)."""
        if not self._opened:
            await self.store.open()
            self._opened = True

    async def start(self) -> None:
        await self.open()
        self._applying = True
        pending = await self.store.pending_lanes()
        if pending:
            log.warning("applying %d Slack inputs kept in the spool (%s)", await self.store.pending_count(),
                        self.store.path)
        for lane in pending:
            self.kick(lane)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop applying; what is not applied yet stays in the spool for the next start."""
        self._stopping.set()
        await self._tasks.wait(grace)
        await self._tasks.cancel_all()
        if self._opened:
            await self.store.close()
            self._opened = False

    def live(self, input_id: int, ack: LateAck, lane: str, body: dict[str, Any]) -> _Live:
        self._live[input_id] = live = _Live(ack, lane, body)
        return live

    def kick(self, lane: str) -> None:
        self._dirty.add(lane)
        if not self._applying:
            return  # start() kicks every lane with inputs waiting
        task = self._lanes.get(lane)
        if (task is None or task.done()) and not self._stopping.is_set():
            self._lanes[lane] = self._tasks.spawn(self._drain(lane), name=f"slack-spool:{lane}")

    async def _drain(self, lane: str) -> None:
        delay = self.retry_base
        try:
            while not self._stopping.is_set():
                self._dirty.discard(lane)
                item = await self.store.head(lane)
                if item is None:
                    if lane in self._dirty:
                        continue
                    return
                if await self._apply(item):
                    delay = self.retry_base
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, self.retry_max)
        except Exception:  # the spool file itself failed: log, the next input or start tries again
            log.exception("Slack input spool: lane %s stopped", lane)
        finally:
            if self._lanes.get(lane) is asyncio.current_task():
                del self._lanes[lane]

    async def _apply(self, item: SpooledInput) -> bool:
        """True when the input is finished with (applied, or given up); False to try again later."""
        live = self._live.get(item.id)
        ack = live.ack if live is not None else self.late_ack(item.body)
        apply = self.appliers.get(item.listener)
        try:
            if apply is None:
                raise LookupError(f"no listener {item.listener} in this version")
            await apply(item.body, ack)
        except Exception as exc:
            away = database_away(exc)
            log.warning("Slack input %s (%s) not applied yet, attempt %d: %r", item.platform_id, item.listener,
                        item.attempts + 1, exc, exc_info=not away)
            await self.store.failed_attempt(item.id, repr(exc))
            too_old = time.time() - item.received_at > self.give_up_seconds
            if too_old or (not away and item.attempts + 1 >= OTHER_FAILURE_ATTEMPTS):
                await self._give_up(item, "Baton's database was not available" if away else
                                    "it failed inside Baton (the log has the details)")
                return True
            await self._defer(item.lane)
            return False
        await self.store.done(item.id)
        self._finish(item.id)
        return True

    async def _defer(self, lane: str) -> None:
        """Everyone waiting on this lane hears, once, that their input is saved and will be applied."""
        for live in [live for live in self._live.values() if live.lane == lane and not live.deferred]:
            live.deferred = True
            live.settled.set()  # a command not acknowledged yet is, with this note (durable.py)
            if live.ack.acked and not live.told:
                live.told = True
                await self._tell(live.body, spool_text.saved_notice(live.body), dm=False)

    def _finish(self, input_id: int) -> None:
        live = self._live.pop(input_id, None)
        if live is not None:
            live.settled.set()

    async def _give_up(self, item: SpooledInput, why: str) -> None:
        log.error("Slack input %s (%s) given up after %d attempts: %s", item.platform_id, item.listener,
                  item.attempts + 1, why)
        await self._tell(item.body, spool_text.given_up(item.body, why), dm=True)
        await self.store.done(item.id)
        self._finish(item.id)

    def _late(self, body: dict[str, Any]) -> Callable[..., Awaitable[None]]:
        async def answer(text: Any = "", blocks: Any = None, errors: dict[str, str] | None = None,
                         **_: Any) -> None:
            if errors:
                text = "\n".join([str(text or "Your form was not accepted:"), *errors.values()])
            await self._tell(body, str(text), dm=False, blocks=blocks)

        return answer

    def late_ack(self, body: dict[str, Any]) -> LateAck:
        return LateAck(None, self._late(body))

    async def _tell(self, body: dict[str, Any], text: str, *, dm: bool, blocks: Any = None) -> None:
        """Privately to the input's author: ephemeral where they acted, or a direct message."""
        user, channel, thread_ts = spool_text.where(body)
        if not user or spool_text.quiet(body):
            return
        try:
            if dm or not channel:
                opened = await self.client.conversations_open(users=user)
                await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)
            else:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks,
                                                     thread_ts=thread_ts)
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.error("could not tell %s about a Slack input: %r; it said: %s", user, exc, text)
