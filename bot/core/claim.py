"""What the claim of an outbox row loads, in the transaction that locked it: everything its handler reads.

The claim's one statement brings the row with its conversation, that conversation's customer and its
message (storage/outbox.py). Here the row's payload is parsed once into its kind's type, and the few kinds
that read more get it in the same transaction (`_READS`): the card its previous conversation, an alert its
alert and the latest messages, a campaign's message its campaign and counts (a campaign's message to a
customer its campaign), the agent its history. So
handlers open no transaction of their own, and a delivery costs no more transactions than its claim and
its settle.

One read is deliberately left to the handler: folding a thread's backlog of mirrors into one post
(operator_bridge/coalesce.py) looks for the rows queued behind this one after waiting for Slack's
posting slot, so that what was written during the wait goes out in the same post; the claim cannot know
those rows yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import outbox_kinds as k
from bot.core.agent_port import AgentTurn
from bot.core.brief import handback_brief
from bot.core.campaign_queries import campaign_facts
from bot.core.ports import Loaded
from storage import alerts, conversations, messages, outbox
from storage import campaigns as campaign_store
from storage.models import Conversation, Customer, Message, OutboxItem

ALERT_RECENT_MESSAGES = 5  # shown under an alert
CAMPAIGN_REPLIES_SHOWN = 10  # listed in a campaign's message
AGENT_HISTORY_MESSAGES = 20  # the conversation as the agent sees it


async def loaded_for(session: AsyncSession, item: OutboxItem, conversation: Conversation | None,
                     customer: Customer | None, message: Message | None) -> Loaded:
    base = Loaded(conversation, customer, message)
    try:
        kind = k.kind_of(item)
        payload = k.parse(item, kind)
    except (k.UnknownKind, k.MalformedPayload) as exc:
        return replace(base, unusable=str(exc))
    loaded = replace(base, payload=payload)
    read = _READS.get(kind)
    return await read(session, item, loaded) if read is not None else loaded


async def _card(session: AsyncSession, item: OutboxItem, loaded: Loaded) -> Loaded:
    conv = loaded.conversation
    if conv is None or not conv.previous_conversation_id:
        return loaded
    return replace(loaded, previous=await conversations.get(session, conv.previous_conversation_id))


async def _alert(session: AsyncSession, item: OutboxItem, loaded: Loaded) -> Loaded:
    alert = await alerts.get(session, loaded.payload.alert_id)
    recent = await messages.find_recent(session, alert.conversation_id if alert else 0, limit=ALERT_RECENT_MESSAGES)
    return replace(loaded, alert=alert, recent=tuple(recent))


async def _campaign(session: AsyncSession, item: OutboxItem, loaded: Loaded) -> Loaded:
    # A later update queued behind this one will show fresher numbers: one Slack call, not two.
    if item.kind == k.CAMPAIGN_UPDATE and await outbox.find_pending_after(session, k.SLACK, item.lane, item.id or 0,
                                                                          limit=1):
        return replace(loaded, superseded=True)
    campaign = await campaign_store.get(session, loaded.payload.campaign_id)
    if campaign is None:
        return loaded
    facts = await campaign_facts(session, campaign, replies_limit=CAMPAIGN_REPLIES_SHOWN)
    return replace(loaded, campaign=campaign, campaign_facts=facts)


async def _campaign_send(session: AsyncSession, item: OutboxItem, loaded: Loaded) -> Loaded:
    # The campaign as it is now: a cancel stops what is already queued.
    return replace(loaded, campaign=await campaign_store.get(session, loaded.payload.campaign_id))


async def _agent_turn(session: AsyncSession, item: OutboxItem, loaded: Loaded) -> Loaded:
    conv = loaded.conversation
    if conv is None or conv.id is None or conv.mode != "agent" or item.message_id is None:
        return loaded  # the worker skips it without asking
    asked = item.message_id
    recent = await messages.recent_turns(session, conv.id, limit=AGENT_HISTORY_MESSAGES)
    newer = any(author == "customer" and id_ > asked for id_, author, _, _ in recent)
    if not newer and len(recent) == AGENT_HISTORY_MESSAGES and recent[0][0] > asked:
        # The history does not reach back to the question: a newer one may be older than what it shows.
        latest = await messages.latest_customer_message_id(session, conv.id)
        newer = latest is not None and latest > asked
    if newer:
        # A newer question is queued behind this one; answering that answers both.
        return replace(loaded, superseded=True)
    # After a hand back, what the human stretch covered, so the agent picks up where the human left.
    history = tuple(AgentTurn(author, text, at) for _, author, text, at in recent)  # type: ignore[arg-type]
    return replace(loaded, history=history, brief=await handback_brief(session, conv))


Read = Callable[[AsyncSession, OutboxItem, Loaded], Awaitable[Loaded]]
_READS: dict[k.Kind[Any], Read] = {
    k.OPEN_THREAD: _card, k.UPDATE_CARD: _card,
    k.ALERT: _alert, k.UPDATE_ALERT: _alert,
    k.CAMPAIGN_POST: _campaign, k.CAMPAIGN_UPDATE: _campaign, k.CAMPAIGN_SEND: _campaign_send,
    k.ASK: _agent_turn,
}
