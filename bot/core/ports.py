"""What the core needs from the outside, and the values deliverers return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from storage.models import Conversation, Customer, Message, OutboxItem


@dataclass(frozen=True)
class Delivered:
    slack_channel: str | None = None
    slack_ts: str | None = None
    tg_message_id: int | None = None
    skipped: str | None = None  # delivered nothing on purpose, e.g. a reply overtaken by a takeover
    covered: tuple[int, ...] = ()  # later rows of the same lane that this one delivery also took care of


@dataclass(frozen=True)
class RetryLater:
    reason: str
    after: float | None = None  # seconds the platform asked for; None: the dispatcher's backoff
    progress: dict[str, Any] | None = None  # merged into the row's payload, so the retry resumes there


@dataclass(frozen=True)
class Failed:
    reason: str
    unreachable: bool = False  # the customer cannot be reached at all (blocked the bot)
    not_editable: bool = False  # the platform will not change this message in place (e.g. past 48 hours)


Result = Delivered | RetryLater | Failed


@dataclass(frozen=True)
class Loaded:
    """The rows a delivery reads, loaded by the dispatcher in the transaction that claimed the outbox row
    (one transaction less per delivery). Snapshots: a deliverer that must re-check something at the
    last moment reads it again."""

    conversation: Conversation | None = None
    customer: Customer | None = None
    message: Message | None = None


class Deliverer(Protocol):
    destination: str

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result: ...


class Clock:
    """Wall-clock time; tests substitute a controllable one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class Observer:
    """Hooks the core calls at notable moments (metrics). Every method is a no-op here so bot/core stays free
    of any metrics library; bot/metrics.py implements it and bot/app.py injects it."""

    def delivery_settled(self, item: OutboxItem, result: Result, *, author: str | None, now: datetime) -> None:
        """An outbox row left (Delivered), will be retried (RetryLater) or gave up (Failed).
        `author` is the relayed message's author when the row carried one."""

    def mode_changed(self, change: str) -> None:
        """A conversation was taken over, handed back or resolved ("takeover", "handback", "resolve")."""

    def agent_answered(self, seconds: float, *, handoff: bool, failed: bool) -> None:
        """The agent answered (or timed out / failed, then `failed`) after `seconds`."""
