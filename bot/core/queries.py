"""Read-side queries the adapters render: the App Home, the open list, history, search, status, the people
lists and the rows a Slack post folds. Each is one short transaction returning row types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import conversations, customers, history, messages, outbox, staff
from storage.db import Database
from storage.models import Alert, Conversation, Customer, Message, OutboxItem


@dataclass(frozen=True)
class HomeSnapshot:
    """What the App Home dashboard shows: open conversations, open alerts, and customers' names."""

    open_rows: list[Conversation]
    alerts: list[Alert]
    alert_convs: dict[int, Conversation | None]
    names: dict[int, str]


async def home_snapshot(db: Database, *, alerts_limit: int, open_limit: int = 500) -> HomeSnapshot:
    async with db.transaction() as session:
        open_rows = list(await conversations.find_open(session, limit=open_limit))
        open_alerts = list(await history.open_alerts(session, limit=alerts_limit))
        ids = {c.customer_id for c in open_rows}
        alert_convs = {a.conversation_id: await conversations.get(session, a.conversation_id) for a in open_alerts}
        ids |= {c.customer_id for c in alert_convs.values() if c is not None}
        names = {i: (c.display_name if (c := await customers.get(session, i)) else "?") for i in ids}
    return HomeSnapshot(open_rows, open_alerts, alert_convs, names)


async def open_with_customers(db: Database, *, limit: int = 20) -> list[tuple[Conversation, Customer | None]]:
    """Open conversations (oldest first, as storage orders them), each with its customer."""
    async with db.transaction() as session:
        return [(conv, await customers.get(session, conv.customer_id))
                for conv in await conversations.find_open(session, limit=limit)]


async def customer_histories(db: Database, query: str, *, customers_limit: int = 5, conversations_limit: int = 15
                             ) -> list[tuple[Customer, Sequence[Conversation]]]:
    """Customers matching `query` (@username, Telegram id or name), each with their latest conversations."""
    async with db.transaction() as session:
        found = await history.find_customers(session, query, limit=customers_limit)
        return [(c, await history.conversations_of(session, c.id or 0, limit=conversations_limit)) for c in found]


async def find_customers(db: Database, query: str, *, limit: int = 5) -> Sequence[Customer]:
    async with db.transaction() as session:
        return await history.find_customers(session, query, limit=limit)


async def search_messages(db: Database, text: str, *, limit: int = 15
                          ) -> Sequence[tuple[Message, Conversation, Customer]]:
    async with db.transaction() as session:
        return await history.search_messages(session, text, limit=limit)


@dataclass(frozen=True)
class StatusNumbers:
    open_rows: Sequence[Conversation]
    backlog: int
    last_error: tuple[datetime, str] | None
    agent_paused: bool


async def status_numbers(db: Database) -> StatusNumbers:
    async with db.transaction() as session:
        return StatusNumbers(await conversations.find_open(session, limit=10_000), await outbox.count_pending(session),
                             await history.last_error(session), await staff.agent_paused(session))


async def people_with_role(db: Database, role: str) -> list[str]:
    """Slack user ids given `role` ("operator" or "admin") from Slack (the config file's are not stored)."""
    async with db.transaction() as session:
        return await staff.list_role(session, role)


async def waiting_mirrors(db: Database, item: OutboxItem, destination: str, mirror_kind: str, limit: int
                          ) -> list[tuple[Message, OutboxItem]]:
    """The mirror rows queued right behind `item` in its lane (stops at the first other kind, and at files,
    which are uploaded on their own)."""
    async with db.transaction() as session:
        rows = await outbox.find_pending_after(session, destination, item.lane, item.id or 0, limit=limit)
        batch = []
        for row in rows:
            if row.kind != mirror_kind or row.message_id is None:
                break
            message = await messages.get(session, row.message_id)
            if message is None or message.tg_file_id:
                break
            batch.append((message, row))
    return batch
