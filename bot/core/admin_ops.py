"""Admin changes: blocking a customer, pausing the agent, giving and taking staff roles, and the audit trail of
`/baton` commands and transcript exports.

Each is an event handled through `service.handle` like every other change, so there is one place where state
changes: blocking and pausing are read by Service._customer_message, roles by every instance's Access."""

from __future__ import annotations

from datetime import datetime

from bot.core.access import Access
from bot.core.events import (
    AdminCommandRun,
    AgentPauseRequested,
    CustomerBlockRequested,
    Outcome,
    RoleChangeRequested,
    TranscriptExported,
)
from bot.core.text import quote
from bot.core.transactions import Transactions
from storage import audit, conversations, customers, inbox, staff
from storage.db import Database

ALREADY_HANDLED = "This command was already handled."  # a replayed request: nothing changes


async def block(db: Transactions, access: Access, event: CustomerBlockRequested, now: datetime) -> Outcome:
    if not access.is_admin(event.actor.slack_user_id):
        return Outcome().tell("Only Baton admins can block customers.")
    async with db.transaction() as session:
        if event.delivery is not None and not await inbox.claim(session, "slack", event.delivery.delivery_id):
            return Outcome(duplicate=True).tell(ALREADY_HANDLED)
        customer = await customers.get(session, event.customer_id)
        if customer is None:
            return Outcome().tell("No such customer.")
        verb = "blocked" if event.blocked else "unblocked"
        if customer.blocked == event.blocked:
            return Outcome().tell(f"{quote(customer.display_name)} is already {verb}.")
        customer.blocked = event.blocked
        session.add(customer)
        audit.record(session, action="block" if event.blocked else "unblock", source="command",
                     conversation_id=None, actor_slack_user_id=event.actor.slack_user_id,
                     actor_name=event.actor.name, detail=f"customer {customer.id} tg {customer.tg_user_id}")
        extra = (" Their messages are still stored, but they get no replies and nothing is posted in Slack."
                 if event.blocked else " Their next message is answered as usual.")
    return Outcome(changed=True).tell(f"{quote(customer.display_name)} is {verb}.{extra}")


async def pause(db: Transactions, access: Access, event: AgentPauseRequested, now: datetime) -> Outcome:
    if not access.is_admin(event.actor.slack_user_id):
        return Outcome().tell("Only Baton admins can pause the agent.")
    async with db.transaction() as session:
        if event.delivery is not None and not await inbox.claim(session, "slack", event.delivery.delivery_id):
            return Outcome(duplicate=True).tell(ALREADY_HANDLED)
        if await staff.agent_paused(session) == event.paused:
            return Outcome().tell(f"The agent is already {'paused' if event.paused else 'running'}.")
        await staff.set_flag(session, staff.AGENT_PAUSED, "1" if event.paused else None,
                             event.actor.slack_user_id, now)
        audit.record(session, action="agent_pause" if event.paused else "agent_resume", source="command",
                     conversation_id=None, actor_slack_user_id=event.actor.slack_user_id, actor_name=event.actor.name)
    if event.paused:
        return Outcome(changed=True).tell("The agent is paused: every new customer message now goes to the "
                                          "humans, and customers are told someone will reply.")
    return Outcome(changed=True).tell("The agent is answering again.")


async def refresh_access(db: Database, access: Access) -> None:
    """Merge the operators and admins added from Slack into `access`: at start and after every change."""
    async with db.transaction() as session:
        generation = await staff.generation(session)
        operators = await staff.list_role(session, "operator")
        admins = await staff.list_role(session, "admin")
    access.merge_stored(operators, admins)
    access.generation = generation


async def sync_access(db: Database, access: Access) -> None:
    """Reload `access` if any instance changed who may act since it was loaded: one primary-key read, run
    before every Slack request is handled, so a removal made elsewhere holds here from the next request on."""
    async with db.transaction() as session:
        current = await staff.generation(session)
    if current != access.generation:
        await refresh_access(db, access)


async def command_run(db: Transactions, event: AdminCommandRun) -> Outcome:
    async with db.transaction() as session:
        audit.record(session, action=f"baton {event.subcommand}", source="command", conversation_id=None,
                     actor_slack_user_id=event.actor.slack_user_id, actor_name=event.actor.name,
                     detail=event.detail or None)
    return Outcome()


async def transcript_exported(db: Transactions, access: Access, event: TranscriptExported) -> Outcome:
    if not access.is_operator(event.slack_user_id):
        return Outcome()
    async with db.transaction() as session:
        if await conversations.get(session, event.conversation_id) is None:
            return Outcome()
        audit.record(session, action="export", source="button", conversation_id=event.conversation_id,
                     actor_slack_user_id=event.slack_user_id, actor_name=None)
    return Outcome(conversation_id=event.conversation_id)


async def change_role(db: Transactions, access: Access, event: RoleChangeRequested, now: datetime) -> Outcome:
    """Give or take a role. One listed in the config file cannot be taken here; a replayed request changes
    nothing. Every instance reloads its lists when it sees the stored generation change (sync_access)."""
    target, role, by = event.target_slack_user_id, event.role, event.actor.slack_user_id
    if not access.is_admin(by):
        return Outcome().tell(f"Only Baton admins can change who is a Baton {role}.")
    configured = access.config_admins if role == "admin" else access.config_operators
    async with db.transaction() as session:
        # A replayed "add" must not restore someone removed since, nor a replayed "remove" undo an add.
        if not await inbox.claim(session, "slack", event.delivery.delivery_id):
            return Outcome(duplicate=True).tell(ALREADY_HANDLED)
        if not event.add and target in configured:
            return Outcome().tell(f"is listed as {role} in the config file, so they cannot be removed from Slack. "
                                  "Edit the config file and restart.", person=target)
        if event.add:
            changed = await staff.add(session, target, role, by, now)
        else:
            changed = await staff.remove(session, target, role, by, now)
        if changed:
            audit.record(session, action=f"{role}_{'added' if event.add else 'removed'}", source="command",
                         conversation_id=None, actor_slack_user_id=by, actor_name=event.actor.name,
                         detail=target)
    if event.add:
        return (Outcome(changed=True).tell(f"is now a Baton {role}.", person=target) if changed
                else Outcome().tell(f"already was a Baton {role}.", person=target))
    return (Outcome(changed=True).tell(f"is no longer a Baton {role}.", person=target) if changed
            else Outcome().tell(f"was not a Baton {role}.", person=target))
