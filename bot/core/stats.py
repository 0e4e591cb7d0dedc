"""Support numbers for `/baton stats`: computed from stored conversations, messages and the audit trail."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import median

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import history
from storage.db import Database
from storage.models import Message


@dataclass
class Stats:
    days: int
    conversations: int = 0
    agent_only: int = 0  # resolved without anyone taking over
    takeovers: int = 0
    time_to_takeover: float | None = None  # median seconds, opened → first takeover
    agent_first_response: float | None = None  # median seconds, first customer message → agent's first reply
    human_first_response: float | None = None  # median seconds, takeover → operator's first reply
    resolution: float | None = None  # median seconds, opened → closed
    csat_average: float | None = None
    csat_count: int = 0
    per_day: dict[date, int] = field(default_factory=dict)

    @property
    def agent_only_share(self) -> float | None:
        return self.agent_only / self.conversations if self.conversations else None


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _median(values: list[float]) -> float | None:
    return median(values) if values else None


async def compute(session: AsyncSession, now: datetime, days: int) -> Stats:
    since = now - timedelta(days=days)
    convs = list(await history.conversations_between(session, since, None))
    stats = Stats(days=days, conversations=len(convs))
    by_id = {c.id: c for c in convs if c.id is not None}
    takeovers: dict[int, datetime] = {}
    for entry in await history.takeovers_since(session, since):
        if entry.conversation_id is not None and entry.conversation_id in by_id:
            takeovers.setdefault(entry.conversation_id, _aware(entry.at))
    stats.takeovers = len(takeovers)
    stats.agent_only = sum(1 for c in convs if c.id not in takeovers)
    firsts: dict[tuple[int | None, str], datetime] = {}
    if by_id:
        stmt = (select(Message).where(col(Message.conversation_id).in_(list(by_id)), col(Message.is_note).is_(False))
                .order_by(col(Message.id)))
        for m in (await session.exec(stmt)).all():
            firsts.setdefault((m.conversation_id, m.author), _aware(m.created_at))
    to_takeover, agent_first, human_first, resolution = [], [], [], []
    for c in convs:
        opened = _aware(c.opened_at)
        if c.id in takeovers:
            to_takeover.append((takeovers[c.id] - opened).total_seconds())
            if (c.id, "operator") in firsts:
                human_first.append((firsts[(c.id, "operator")] - takeovers[c.id]).total_seconds())
        if (c.id, "agent") in firsts and (c.id, "customer") in firsts:
            agent_first.append((firsts[(c.id, "agent")] - firsts[(c.id, "customer")]).total_seconds())
        if c.closed_at is not None:
            resolution.append((_aware(c.closed_at) - opened).total_seconds())
    stats.time_to_takeover, stats.agent_first_response = _median(to_takeover), _median(agent_first)
    stats.human_first_response, stats.resolution = _median(human_first), _median(resolution)
    ratings = [c.csat_rating for c in convs if c.csat_rating]
    stats.csat_count = len(ratings)
    stats.csat_average = sum(ratings) / len(ratings) if ratings else None
    counts = Counter(_aware(c.opened_at).date() for c in convs)
    stats.per_day = {(now - timedelta(days=i)).date(): counts.get((now - timedelta(days=i)).date(), 0)
                     for i in range(days - 1, -1, -1)}
    return stats


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"



async def compute_for(db: Database, now: datetime, days: int) -> Stats:
    async with db.transaction() as session:
        return await compute(session, now, days)
