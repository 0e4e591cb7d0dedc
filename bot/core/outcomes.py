"""Delivery outcomes as a core event: DeliverySettled, recorded by bot/core/settle.py (platform ids onto the
rows, where a campaign's Slack message was posted, retries, failures made visible), and for a campaign's
message to a customer its recipient's outcome."""

from __future__ import annotations

from bot.core.campaigns import CampaignHandlers
from bot.core.events import DeliverySettled, Outcome
from bot.core.outbox_kinds import CAMPAIGN_SEND
from bot.core.settle import settle_in
from bot.core.transactions import Transactions


class DeliveryOutcomes:
    def __init__(self, db: Transactions, campaigns: CampaignHandlers) -> None:
        self.db = db
        self.campaigns = campaigns

    async def settled(self, event: DeliverySettled) -> Outcome:
        async with self.db.transaction() as session:
            author = await settle_in(session, event.item, event.result, event.settled_at, retry_base=event.retry_base,
                                     loaded=event.loaded)
            if event.item.kind == CAMPAIGN_SEND:
                await self.campaigns.send_settled(session, event.item, event.result, event.settled_at)
        # Not `changed`: a delivery changes no conversation's state that anyone is shown.
        return Outcome(conversation_id=event.item.conversation_id, author=author)
