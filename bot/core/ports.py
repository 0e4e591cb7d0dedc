"""What the core needs from the outside, and the values deliverers return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from storage.models import Alert, Campaign, Conversation, Customer, Message, OutboxItem

if TYPE_CHECKING:
    from bot.core.agent_port import AgentTurn
    from bot.core.campaign_queries import CampaignFacts
    from bot.core.events import Event


@dataclass(frozen=True)
class Delivered:
    slack_channel: str | None = None
    slack_ts: str | None = None
    tg_message_id: int | None = None
    skipped: str | None = None  # delivered nothing on purpose, e.g. a reply overtaken by a takeover
    covered: tuple[int, ...] = ()  # later rows of the same lane that this one delivery also took care of
    # What the delivery learnt, as an event handled in the transaction that settles the row (the agent's
    # answer): recorded and settled together, so a crash cannot record it and then deliver the row again.
    then: Event | None = None


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
    """Everything a delivery reads, loaded by the dispatcher in the transaction that claimed the outbox row
    (bot/core/claim.py), so that no handler opens a transaction of its own. Snapshots as of the claim."""

    conversation: Conversation | None = None
    customer: Customer | None = None
    message: Message | None = None
    payload: Any = None  # the row's typed payload (bot/core/outbox_kinds.py)
    unusable: str | None = None  # why the row cannot be delivered at all (unknown kind, malformed payload)
    # What some kinds read besides (see claim.py for which):
    previous: Conversation | None = None  # the customer's previous conversation (the thread's card links it)
    alert: Alert | None = None
    recent: tuple[Message, ...] = ()  # the latest messages, shown with an alert
    history: tuple[AgentTurn, ...] = ()  # the conversation as the agent reads it (no notes, nothing deleted)
    campaign: Campaign | None = None
    campaign_facts: CampaignFacts | None = None
    superseded: bool = False  # a later row makes this one moot (a newer question, a fresher update)
    brief: str | None = None  # for the agent: what the human stretch covered, after a hand back


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
