"""Bolt with a durable inbox: every listener's input is in the spool before Slack is acknowledged.

`DurableApp` is Bolt's AsyncApp whose `event`, `action`, `command`, `shortcut` and `view` registrations
wrap each listener: the raw request body goes into the spool (operator_bridge/spool_store.py) first,
then the spool runner calls the listener, in order per lane, until it takes effect. Listeners keep
their usual signature. Events are acknowledged by Bolt before any listener runs, so a middleware spools
them; everything else is spooled by the wrapper before the listener (which acks) is called. A slash
command that cannot be answered within `ack_budget_seconds` (Slack allows 3 s) is acknowledged with a
note that it is saved; its answer follows privately when it has been applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from re import Pattern
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from operator_bridge import spool_text
from operator_bridge.spool import LateAck, SpoolRunner

log = logging.getLogger(__name__)

SPOOLED = "baton_spooled_inputs"  # context key: {listener name: spool row id, or None for a re-delivery}
_ARGS = {"ack", "body", "payload", "event", "message", "action", "command", "shortcut", "view", "respond",
         "client", "logger"}

Listener = Callable[..., Awaitable[Any]]


class DurableApp(AsyncApp):
    def __init__(self, *, runner: SpoolRunner, ack_budget_seconds: float = 2.0,
                 before_apply: Callable[[], Awaitable[None]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.before_apply = before_apply
        # Requests being dispatched: stop() lets them be answered before the socket closes.
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.use(self._track)
        self.ack_budget = ack_budget_seconds
        self._event_listeners: dict[str, list[str]] = {}
        self.use(self._spool_events)

    # --- registration ------------------------------------------------------------------------------

    def event(self, event: Any, matchers: Any = None, middleware: Any = None) -> Any:
        if not isinstance(event, str):
            raise TypeError("durable event listeners are registered by event type name")
        register = super().event(event, matchers, middleware)

        def wrap_all(*functions: Listener) -> Any:
            self._event_listeners.setdefault(event, []).extend(_name(f) for f in functions)
            return register(*(self._durable(f) for f in functions))

        return wrap_all

    def action(self, constraints: str | Pattern[str] | dict[str, Any], matchers: Any = None,
               middleware: Any = None) -> Any:
        return self._wrapping(super().action(constraints, matchers, middleware))

    def command(self, command: str | Pattern[str], matchers: Any = None, middleware: Any = None) -> Any:
        return self._wrapping(super().command(command, matchers, middleware))

    def shortcut(self, constraints: str | Pattern[str] | dict[str, Any], matchers: Any = None,
                 middleware: Any = None) -> Any:
        return self._wrapping(super().shortcut(constraints, matchers, middleware))

    def view(self, constraints: str | Pattern[str] | dict[str, Any], matchers: Any = None,
             middleware: Any = None) -> Any:
        return self._wrapping(super().view(constraints, matchers, middleware))

    def block_action(self, constraints: Any, matchers: Any = None, middleware: Any = None) -> Any:
        return self._wrapping(super().block_action(constraints, matchers, middleware))

    def view_submission(self, constraints: Any, matchers: Any = None, middleware: Any = None) -> Any:
        return self._wrapping(super().view_submission(constraints, matchers, middleware))

    def global_shortcut(self, callback_id: Any, matchers: Any = None, middleware: Any = None) -> Any:
        return self._wrapping(super().global_shortcut(callback_id, matchers, middleware))

    def message_shortcut(self, callback_id: Any, matchers: Any = None, middleware: Any = None) -> Any:
        return self._wrapping(super().message_shortcut(callback_id, matchers, middleware))

    def message(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("register message listeners with app.event(\"message\"), which spools them")

    def _wrapping(self, register: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *functions: register(*(self._durable(f) for f in functions))

    # --- the spool in the request path -------------------------------------------------------------

    async def _track(self, next_: Callable[[], Awaitable[Any]]) -> Any:
        self._busy += 1
        self._idle.clear()
        try:
            return await next_()
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def drain(self) -> None:
        """Wait (at most the ack budget and a second) until no request is being dispatched, so that closing
        the connection does not cut an acknowledgement in half."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.ack_budget + 1)
        await asyncio.sleep(0.05)  # the transport sends the answer right after dispatch returns

    async def _spool_events(self, body: dict[str, Any], context: dict[str, Any],
                            next_: Callable[[], Awaitable[Any]]) -> Any:
        event = body.get("event") if body.get("type") == "event_callback" else None
        names = self._event_listeners.get(str(event.get("type"))) if isinstance(event, dict) else None
        if names:
            key, lane = spool_text.platform_id(body), spool_text.lane(body)
            context[SPOOLED] = {name: await self.runner.store.add(f"{key}:{name}", lane, name, body)
                                for name in names}
        return await next_()

    def _durable(self, func: Listener) -> Listener:
        name = _name(func)
        wanted = list(inspect.signature(func).parameters)
        if unknown := set(wanted) - _ARGS:
            raise TypeError(f"{name} asks for {sorted(unknown)}, which a spooled input cannot give")

        async def apply(body: dict[str, Any], ack: LateAck) -> None:
            if self.before_apply is not None:
                await self.before_apply()
            await func(**self._arguments(body, wanted, ack))

        self.runner.appliers[name] = apply

        async def spooled_listener(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
            events = context.get(SPOOLED)
            if events is not None:  # an event: spooled by the middleware and acknowledged by Bolt already
                input_id, late = events.get(name), self.runner.late_ack(body)
            else:
                input_id = await self.runner.store.add(spool_text.platform_id(body), spool_text.lane(body), name,
                                                       body)
                late = LateAck(ack, self.runner.late_ack(body).late)
            if input_id is None:  # Slack sent this input again; the first copy is applied or on its way
                if not late.acked:
                    await ack()
                return
            lane = spool_text.lane(body)
            live = self.runner.live(input_id, late, lane, body)
            self.runner.kick(lane)
            if late.acked:
                return
            waiters = [asyncio.ensure_future(live.settled.wait()), asyncio.ensure_future(late.answered.wait())]
            try:
                await asyncio.wait(waiters, timeout=self.ack_budget, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if not late.acked:
                if "command" in body:
                    live.told = True
                    await late(spool_text.saved_notice(body))
                else:
                    await late()

        spooled_listener.__name__ = spooled_listener.__qualname__ = f"spooled:{name}"
        return spooled_listener

    def _arguments(self, body: dict[str, Any], wanted: list[str], ack: LateAck) -> dict[str, Any]:
        available: dict[str, Any] = {"ack": ack, "body": body, "client": self.client, "logger": log,
                                     "respond": AsyncRespond(response_url=body["response_url"])
                                     if body.get("response_url") else None}
        event = body.get("event")
        if isinstance(event, dict):
            available.update(event=event, message=event, payload=event)
        elif "command" in body:
            available.update(command=body, payload=body)
        elif body.get("type") == "block_actions":
            action = (body.get("actions") or [{}])[0]
            available.update(action=action, payload=action)
        elif body.get("type") == "view_submission":
            available.update(view=body.get("view"), payload=body.get("view"))
        else:
            available.update(shortcut=body, payload=body)
        return {arg: available.get(arg) for arg in wanted}


def _name(func: Listener) -> str:
    return f"{func.__module__}.{func.__qualname__}"
