"""Recording what a delivery did: platform ids onto the rows, and failures made visible in the thread."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import edit_results, notes
from bot.core import effects as fx
from bot.core import outbox_kinds as k
from bot.core.edit_results import payload_for
from bot.core.ports import Delivered, Failed, Loaded, Result, RetryLater
from storage import alerts, conversations, customers, messages, outbox
from storage import campaigns as campaign_store
from storage.models import Alert, Campaign, Message, OutboxItem

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0

T = TypeVar("T")


def backoff(attempts: int, base: float = 1.0, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: half to all of base * 2^attempts seconds."""
    delay = min(MAX_BACKOFF_SECONDS, base * 2.0 ** min(attempts, 16))
    return delay * (0.5 + (rng or random).random() / 2)


async def settle_in(session: AsyncSession, item: OutboxItem, result: Result, now: datetime, *,
                    retry_base: float = 1.0, loaded: Loaded | None = None) -> str | None:
    """Record the result in the caller's transaction: the DeliverySettled event's handler (bot/core/outcomes.py),
    run by the dispatcher in the transaction that claims the lane's next row. Returns the delivered message's
    author (for metrics), when the row carried one. `loaded`: the rows read when the item was claimed, so they
    need not be read again."""
    assert item.id is not None
    if isinstance(result, RetryLater):
        delay = result.after if result.after is not None else backoff(item.attempts + 1, retry_base)
        log.warning("outbox %s (%s/%s, conversation %s) retry in %.1fs: %s", item.id, item.destination,
                    item.kind, item.conversation_id, delay, result.reason)
        await outbox.retry_later(session, item.id, now + timedelta(seconds=delay), result.reason,
                                 progress=result.progress)
        return None
    if isinstance(result, Failed):
        log.error("outbox %s (%s/%s, conversation %s) failed: %s", item.id, item.destination, item.kind,
                  item.conversation_id, result.reason)
        outbox.finish(session, item.id, status="failed", error=result.reason)
        on_failed = _entry(ON_FAILED, item, loaded)
        if on_failed is None or not await on_failed(session, item, result, now, loaded):
            await _made_visible(session, item, result, now)
        return None
    outbox.finish(session, item.id, status="done", error=result.skipped)
    author = await _delivered(session, item, result, now, loaded)
    for covered_id in result.covered:
        covered = await outbox.get(session, covered_id)
        if covered is not None and covered.status == "pending":
            outbox.finish(session, covered_id, status="done", error=f"posted with outbox {item.id}")
            await _delivered(session, covered, result, now)
    return author


async def _delivered(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                     loaded: Loaded | None = None) -> str | None:
    """What the delivery changes in the rows (platform ids, follow-ups); the relayed message's author."""
    on_delivered = _entry(ON_DELIVERED, item, loaded)
    if result.skipped or on_delivered is None:
        return None
    return await on_delivered(session, item, result, now, loaded)


def _entry(table: Mapping[k.Kind[Any], T], item: OutboxItem, loaded: Loaded | None) -> T | None:
    kind = k.KINDS.get(item.kind)
    if kind is None or kind.destination != item.destination or (loaded is not None and loaded.unusable):
        return None  # a row no handler could read: only the general handling applies
    return table.get(kind)


async def _thread_opened(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                         loaded: Loaded | None) -> str | None:
    if result.slack_channel and result.slack_ts and item.conversation_id:
        await conversations.set_thread(session, item.conversation_id, result.slack_channel, result.slack_ts)
    return None


async def _alert_posted(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                        loaded: Loaded | None) -> str | None:
    if result.slack_channel and result.slack_ts:
        _posted_at(session, await alerts.get(session, payload_for(item, loaded, k.ALERT).alert_id), result)
    return None


async def _campaign_posted(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                           loaded: Loaded | None) -> str | None:
    # Where the campaign's message is, so its updates edit it.
    if result.slack_channel and result.slack_ts:
        campaign_id = payload_for(item, loaded, k.CAMPAIGN_POST).campaign_id
        _posted_at(session, await campaign_store.get(session, campaign_id), result)
    return None


def _posted_at(session: AsyncSession, row: Alert | Campaign | None, result: Delivered) -> None:
    """Where a Slack message was posted, onto the row it shows, so that its updates edit it."""
    if row is not None:
        row.slack_channel, row.slack_ts = result.slack_channel, result.slack_ts
        session.add(row)


async def _message_of(session: AsyncSession, item: OutboxItem, loaded: Loaded | None) -> Message | None:
    if item.message_id is None:
        return None
    return loaded.message if loaded is not None else await messages.get(session, item.message_id)


async def _mirrored(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                    loaded: Loaded | None) -> str | None:
    message = await _message_of(session, item, loaded)
    if message is None:
        return None
    if result.slack_ts:
        messages.set_platform_ids(session, item.message_id or 0, slack_ts=result.slack_ts)
    return message.author


async def _sent_to_customer(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                            loaded: Loaded | None) -> str | None:
    message = await _record_telegram_id(session, item, result, loaded)
    return message.author if message is not None else None


async def _record_telegram_id(session: AsyncSession, item: OutboxItem, result: Delivered,
                              loaded: Loaded | None) -> Message | None:
    """The message Telegram accepted, with its Telegram id recorded (None: it no longer exists)."""
    message = await _message_of(session, item, loaded)
    if message is not None and result.tg_message_id is not None:
        messages.set_platform_ids(session, item.message_id or 0, tg_message_id=result.tg_message_id)
    return message


async def _operator_reply_sent(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                               loaded: Loaded | None) -> str | None:
    message = await _record_telegram_id(session, item, result, loaded)
    if message is None:
        return None
    # An operator's message has its Slack ts from the start (it was posted there), so the snapshot taken at
    # the claim has it.
    if result.tg_message_id is not None and message.slack_ts:
        conv = loaded.conversation if loaded is not None else await conversations.get(
            session, message.conversation_id)
        if conv is not None:
            # The operator sees in the thread that the customer got it.
            fx.slack(session, conv, fx.REACT, now=now, ts=message.slack_ts, name="white_check_mark")
    return message.author


async def _asked(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                 loaded: Loaded | None) -> str | None:
    message = await _message_of(session, item, loaded)
    return message.author if message is not None else None


OnDelivered = Callable[[AsyncSession, OutboxItem, Delivered, datetime, Loaded | None], Awaitable[str | None]]
OnFailed = Callable[[AsyncSession, OutboxItem, Failed, datetime, Loaded | None], Awaitable[bool]]
# Per kind, what a delivery records. A kind not named records nothing (a note, a reaction, an update).
ON_DELIVERED: Mapping[k.Kind[Any], OnDelivered] = {
    k.OPEN_THREAD: _thread_opened, k.ALERT: _alert_posted, k.CAMPAIGN_POST: _campaign_posted,
    k.MIRROR: _mirrored, k.DELIVER: _operator_reply_sent, k.DELIVER_AGENT: _sent_to_customer,
    k.CHOICES: _sent_to_customer, k.ASK: _asked, k.CORRECTION: edit_results.correction_sent,
}
# Per kind, a failure handled its own way; True: handled. Otherwise `_made_visible` says it in the thread.
ON_FAILED: Mapping[k.Kind[Any], OnFailed] = {
    k.EDIT: edit_results.edit_failed, k.DELETE: edit_results.delete_failed,
}


async def _made_visible(session: AsyncSession, item: OutboxItem, result: Failed, now: datetime) -> None:
    if item.destination != fx.TELEGRAM or item.conversation_id is None:
        return  # a Slack failure cannot be reported in Slack; it is logged above
    conv = await conversations.get(session, item.conversation_id)
    if conv is None:
        return
    if result.unreachable:
        customer = await customers.get(session, conv.customer_id)
        if customer is not None:
            customer.unreachable = True
            session.add(customer)
    message = await messages.get(session, item.message_id) if item.message_id else None
    if message is not None and message.slack_ts:
        fx.slack(session, conv, fx.REACT, now=now, ts=message.slack_ts, name="warning")
    fx.note(session, conv, notes.NotDelivered(result.reason), now=now)
