"""Admin changes that alter how the core treats messages: blocking a customer and pausing the agent.

Both are state (stored, audited, survive restarts) read by Service._customer_message; they go through
`service.handle` like every other change so there is one place where state changes."""

from __future__ import annotations

from datetime import datetime

from bot.core.access import Access
from bot.core.events import AgentPauseRequested, CustomerBlockRequested, Outcome
from bot.core.text import quote
from storage import audit, customers, inbox, staff
from storage.db import Database

ALREADY_HANDLED = "This command was already handled."  # a replayed request: nothing changes


async def block(db: Database, access: Access, event: CustomerBlockRequested, now: datetime) -> Outcome:
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


async def pause(db: Database, access: Access, event: AgentPauseRequested, now: datetime) -> Outcome:
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


async def record_command(db: Database, user: str, actor_name: str | None, sub: str, detail: str) -> None:
    """Audit one `/baton` subcommand (before it is answered: the answer says it is done)."""
    async with db.transaction() as session:
        audit.record(session, action=f"baton {sub}", source="command", conversation_id=None,
                     actor_slack_user_id=user, actor_name=actor_name, detail=detail or None)


async def change_role(db: Database, delivery_id: str, *, add: bool, target: str, role: str, by: str, now: datetime,
                      configured: set[str] | frozenset[str]) -> str:
    """Give or take `role` from `target`: "changed", "unchanged", "configured" (listed in the config file,
    so not removable here) or "duplicate" (a replayed request: nothing changes)."""
    async with db.transaction() as session:
        # A replayed "add" must not restore someone removed since, nor a replayed "remove" undo an add.
        if not await inbox.claim(session, "slack", delivery_id):
            return "duplicate"
        if add:
            changed = await staff.add(session, target, role, by, now)
        elif target in configured:
            return "configured"
        else:
            changed = await staff.remove(session, target, role, by, now)
    return "changed" if changed else "unchanged"
