"""A deliverer's handler table: one small handler per outbox kind, looked up by the row's kind.

Each adapter builds one `Routes` from `Route(kind, handler)` pairs; a handler takes the claimed row, its typed
payload and the `Loaded` context and returns a Result. mypy checks that a handler takes the payload type of
its kind, and a table refuses a kind of another destination, or the same kind twice, when it is built.
A row of a kind the table has no handler for fails (logged; the row is kept as failed, the dispatcher's
dead letter), as does a payload that does not parse: neither is dropped, and neither is retried for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.core.outbox_kinds import Kind, MalformedPayload, parse
from bot.core.ports import Failed, Loaded, Result
from storage.models import OutboxItem

log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class Route(Generic[P]):
    kind: Kind[P]
    handle: Callable[[OutboxItem, P, Loaded], Awaitable[Result]]


class Routes:
    def __init__(self, destination: str, *routes: Route[Any]) -> None:
        self.destination = destination
        self._table: dict[str, Route[Any]] = {}
        for route in routes:
            if route.kind.destination != destination:
                raise ValueError(f"outbox kind {route.kind!r} goes to {route.kind.destination}, not {destination}")
            if route.kind in self._table:
                raise ValueError(f"two handlers for outbox kind {route.kind!r}")
            self._table[route.kind] = route

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._table)

    def handler(self, kind: str) -> Callable[[OutboxItem, Any, Loaded], Awaitable[Result]] | None:
        route = self._table.get(kind)
        return route.handle if route is not None else None

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        route = self._table.get(item.kind)
        if route is None:
            log.error("outbox %s (%s/%s, conversation %s): no handler for this kind", item.id, item.destination,
                      item.kind, item.conversation_id)
            return Failed(f"no {self.destination} handler for outbox kind {item.kind!r}")
        payload = loaded.payload
        if not isinstance(payload, route.kind.payload):  # a context built without the claim: parse here
            try:
                payload = parse(item, route.kind)
            except MalformedPayload as exc:
                log.error("%s", exc)
                return Failed(str(exc))
        return await route.handle(item, payload, loaded)
