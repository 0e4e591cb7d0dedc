"""Prometheus metrics: the Observer the core calls, and the /metrics page that also reads the outbox backlog.

Each Baton gets its own CollectorRegistry (not the process-global one): tests and benchmarks run several
Batons in one process, and a global registry would refuse the second set of metric names.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func
from sqlmodel import select

from bot.core import effects as fx
from bot.core.ports import Delivered, Failed, Observer, Result, RetryLater
from storage.db import Database
from storage.models import OutboxItem

# Seconds; from a message's creation to the platform accepting it. Wide: a retry after a 429 counts too.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
AGENT_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DESTINATIONS = (fx.TELEGRAM, fx.SLACK, fx.AGENT)

# Reason texts are free-form (they carry platform messages); a label needs a small fixed set.
_REASON_CLASSES = (
    ("rate_limited", ("flood", "rate limit", "ratelimited", "429")),
    ("auth", ("token", "invalid_auth", "not_authed", "account_inactive")),
    ("blocked", ("blocked",)),
    ("network", ("network", "timed out", "timeout", "connect")),
    ("unexpected", ("unexpected",)),
    ("refused", ("refused", "too large", "not editable", "no longer")),
)


def reason_class(reason: str) -> str:
    lowered = reason.lower()
    for name, needles in _REASON_CLASSES:
        if any(needle in lowered for needle in needles):
            return name
    return "other"


def direction(item: OutboxItem, author: str | None) -> str | None:
    """Which relay a delivered row was, or None for bookkeeping rows (cards, notes, reactions)."""
    if item.destination == fx.TELEGRAM and item.kind == fx.DELIVER_AGENT:
        return "agent_to_customer"
    if item.destination == fx.TELEGRAM and item.kind == fx.DELIVER:
        return "operator_to_customer"
    if item.destination == fx.SLACK and item.kind == fx.MIRROR:
        return f"{author or 'unknown'}_to_slack"
    return None


class Metrics(Observer):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.relayed = Counter("baton_messages_relayed", "Messages that reached the other side, per direction.",
                               ["direction"], registry=r)
        self.latency = Histogram("baton_delivery_latency_seconds",
                                 "From a message's creation to the platform accepting it.", ["direction"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.settled = Counter("baton_outbox_settled", "Outbox rows settled, by destination, kind and outcome.",
                               ["destination", "kind", "outcome"], registry=r)
        self.retries = Counter("baton_delivery_retries", "Deliveries put back for a retry, by reason class.",
                               ["destination", "kind", "reason"], registry=r)
        self.failures = Counter("baton_delivery_failures", "Deliveries given up, by reason class.",
                                ["destination", "kind", "reason"], registry=r)
        self.mode_changes = Counter("baton_mode_changes", "Takeovers, hand-backs and resolves.", ["change"],
                                    registry=r)
        self.agent_latency = Histogram("baton_agent_latency_seconds", "Time the agent took to answer.",
                                       buckets=AGENT_BUCKETS, registry=r)
        # Hand-off rate = rate(baton_agent_answers_total{outcome!="answered"}) / rate(baton_agent_answers_total)
        self.agent_answers = Counter("baton_agent_answers", "Agent answers: answered, handoff or failed.",
                                     ["outcome"], registry=r)
        self.backlog = Gauge("baton_outbox_backlog", "Pending outbox rows per destination (read at scrape).",
                             ["destination"], registry=r)
        self.oldest = Gauge("baton_outbox_oldest_pending_age_seconds",
                            "Age of the oldest pending outbox row per destination (read at scrape).",
                            ["destination"], registry=r)
        self.worker_failures = Counter("baton_worker_failures", "Background worker steps that raised (each is "
                                       "logged and run again after a backoff).", ["worker"], registry=r)
        self.scrape_errors = Counter("baton_metrics_backlog_errors", "Scrapes that could not read the outbox.",
                                     registry=r)

    # --- Observer ------------------------------------------------------------------------------

    def delivery_settled(self, item: OutboxItem, result: Result, *, author: str | None, now: datetime) -> None:
        if isinstance(result, RetryLater):
            self.settled.labels(item.destination, item.kind, "retry").inc()
            self.retries.labels(item.destination, item.kind, reason_class(result.reason)).inc()
            return
        if isinstance(result, Failed):
            self.settled.labels(item.destination, item.kind, "failed").inc()
            self.failures.labels(item.destination, item.kind, reason_class(result.reason)).inc()
            return
        assert isinstance(result, Delivered)
        self.settled.labels(item.destination, item.kind, "skipped" if result.skipped else "delivered").inc()
        relay = None if result.skipped else direction(item, author)
        if relay is None:
            return
        # One platform call may carry later rows of the lane too (result.covered): each is a message.
        self.relayed.labels(relay).inc(1 + len(result.covered))
        self.latency.labels(relay).observe(max(0.0, (now - _aware(item.created_at)).total_seconds()))

    def mode_changed(self, change: str) -> None:
        self.mode_changes.labels(change).inc()

    def agent_answered(self, seconds: float, *, handoff: bool, failed: bool) -> None:
        self.agent_latency.observe(seconds)
        self.agent_answers.labels("failed" if failed else "handoff" if handoff else "answered").inc()

    def worker_failed(self, worker: str, _exc: BaseException) -> None:
        self.worker_failures.labels(worker).inc()

    # --- scrape --------------------------------------------------------------------------------

    async def refresh_backlog(self, db: Database, now: datetime | None = None) -> None:
        """One grouped query over pending rows (the (destination, status, ...) index narrows it)."""
        now = now or datetime.now(UTC)
        stmt = (select(OutboxItem.destination, func.count(), func.min(OutboxItem.created_at))
                .where(OutboxItem.status == "pending").group_by(OutboxItem.destination))
        async with db.transaction() as session:
            rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
        found = {destination: (count, oldest) for destination, count, oldest in rows}
        for destination in {*DESTINATIONS, *found}:
            count, oldest = found.get(destination, (0, None))
            self.backlog.labels(destination).set(count)
            age = (now - _aware(oldest)).total_seconds() if oldest is not None else 0.0
            self.oldest.labels(destination).set(max(0.0, age))

    def handler(self, db: Database):  # type: ignore[no-untyped-def]
        async def metrics(_request: web.Request) -> web.Response:
            try:
                await self.refresh_backlog(db)
            except Exception:
                # The counters are still worth serving when the database is down (/healthz says so).
                self.scrape_errors.inc()
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        return metrics


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite's min() over a datetime column hands back the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
