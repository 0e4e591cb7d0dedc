"""Recording what a delivery did: platform ids onto the rows, and failures made visible in the thread."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import edit_results
from bot.core import effects as fx
from bot.core.ports import Delivered, Failed, Loaded, Result, RetryLater
from bot.core.text import quote
from storage import alerts, conversations, customers, messages, outbox
from storage.models import OutboxItem

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0


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
        await outbox.finish(session, item.id, status="failed", error=result.reason)
        if not await edit_results.failed(session, item, result, now):
            await _made_visible(session, item, result, now)
        return None
    await outbox.finish(session, item.id, status="done", error=result.skipped)
    if item.kind in edit_results.KINDS:
        await edit_results.delivered(session, item, result, now)
        return None
    author = await _record_ids(session, item, result, now, loaded)
    for covered_id in result.covered:
        covered = await session.get(OutboxItem, covered_id)
        if covered is not None and covered.status == "pending":
            await outbox.finish(session, covered_id, status="done", error=f"posted with outbox {item.id}")
            await _record_ids(session, covered, result, now)
    return author


async def _record_ids(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                      loaded: Loaded | None = None) -> str | None:
    if result.skipped:
        return None
    if item.kind == fx.OPEN_THREAD and result.slack_channel and result.slack_ts and item.conversation_id:
        await conversations.set_thread(session, item.conversation_id, result.slack_channel, result.slack_ts)
        return None
    if item.kind == fx.ALERT and result.slack_channel and result.slack_ts:
        alert = await alerts.get(session, int(outbox.payload_of(item).get("alert_id", 0)))
        if alert is not None:
            alert.slack_channel, alert.slack_ts = result.slack_channel, result.slack_ts
            session.add(alert)
        return None
    if item.message_id is None:
        return None
    message = loaded.message if loaded is not None else await messages.get(session, item.message_id)
    if message is None:
        return None
    if item.destination == fx.SLACK and item.kind == fx.MIRROR and result.slack_ts:
        await messages.set_platform_ids(session, item.message_id, slack_ts=result.slack_ts)
    elif item.destination == fx.TELEGRAM and result.tg_message_id is not None:
        await messages.set_platform_ids(session, item.message_id, tg_message_id=result.tg_message_id)
        # An operator's message has its Slack ts from the start (it was posted there), so the snapshot
        # taken at the claim has it.
        if item.kind == fx.DELIVER and message.slack_ts:
            conv = loaded.conversation if loaded is not None else await conversations.get(
                session, message.conversation_id)
            if conv is not None:
                # The operator sees in the thread that the customer got it.
                fx.slack(session, conv, fx.REACT, now=now, ts=message.slack_ts, name="white_check_mark")
    return message.author


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
    fx.slack(session, conv, fx.NOTE, now=now,
             text=f":warning: Not delivered to the customer: {quote(result.reason)}.")
