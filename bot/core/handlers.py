"""The events beside the conversation flow that `Service.handle` routes: admin changes, the audit trail of
commands and exports, campaigns (an admin's operations and the sender's progress), timer firings and
delivery outcomes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.core import admin_ops
from bot.core.access import Access
from bot.core.campaigns import CampaignHandlers
from bot.core.deadlines import Deadlines
from bot.core.events import (
    AdminCommandRun,
    AgentPauseRequested,
    CampaignCancelRequested,
    CampaignCreateRequested,
    CampaignFailed,
    CampaignSendingDone,
    CampaignSendsDue,
    CampaignStartDue,
    CustomerBlockRequested,
    CustomerTagsChangeRequested,
    CustomerWaitDue,
    DeliverySettled,
    Outcome,
    OwnerSilenceDue,
    RoleChangeRequested,
    TranscriptExported,
)
from bot.core.outcomes import DeliveryOutcomes
from bot.core.ports import Clock
from bot.core.transactions import Transactions

Handler = Callable[[Any], Awaitable[Outcome]]

# After these change something, the campaign sender looks again (a new campaign, or one no longer active).
WAKE_CAMPAIGNS = (CampaignCreateRequested, CampaignCancelRequested)


def beside_conversations(tx: Transactions, access: Access, clock: Clock,
                         campaigns: CampaignHandlers) -> dict[type, Handler]:
    now = clock.now
    deadlines = Deadlines(tx, clock=clock)
    outcomes = DeliveryOutcomes(tx, campaigns)
    return {
        CustomerBlockRequested: lambda e: admin_ops.block(tx, access, e, now()),
        AgentPauseRequested: lambda e: admin_ops.pause(tx, access, e, now()),
        RoleChangeRequested: lambda e: admin_ops.change_role(tx, access, e, now()),
        AdminCommandRun: lambda e: admin_ops.command_run(tx, e),
        TranscriptExported: lambda e: admin_ops.transcript_exported(tx, access, e),
        CampaignCreateRequested: campaigns.create,
        CampaignCancelRequested: campaigns.cancel,
        CustomerTagsChangeRequested: campaigns.tag,
        CampaignStartDue: campaigns.start,
        CampaignSendsDue: campaigns.sends_due,
        CampaignSendingDone: campaigns.sending_done,
        CampaignFailed: campaigns.failed,
        CustomerWaitDue: deadlines.customer_waiting,
        OwnerSilenceDue: deadlines.owner_silent,
        DeliverySettled: outcomes.settled,
    }
