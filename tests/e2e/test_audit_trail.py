"""What admins and operators do from Slack is on the record: each action is a core event whose audit row is
stored with its change (role changes, `/baton` commands, transcript exports)."""

from __future__ import annotations

from sqlmodel import col, select

from storage.models import AuditEntry
from tests.support.harness import ADMIN, ALICE, CHANNEL, EVE, World


async def _audit(world: World) -> list[tuple[str, str | None, int | None, str | None]]:
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    return [(r.action, r.actor_slack_user_id, r.conversation_id, r.detail) for r in rows]


async def test_role_changes_and_the_commands_that_made_them_are_audited(world: World) -> None:
    await world.start()
    await world.slack.slash_command(ADMIN, "/baton", "operators add <@U0EVE|eve>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "<@U0EVE> is now a Baton operator")
    await world.slack.slash_command(ADMIN, "/baton", "operators remove <@U0EVE>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "<@U0EVE> is no longer a Baton operator")
    audit = await _audit(world)
    assert ("operator_added", ADMIN, None, EVE) in audit and ("operator_removed", ADMIN, None, EVE) in audit
    assert ("baton operators", ADMIN, None, "add <@U0EVE|eve>") in audit


async def test_an_export_is_audited_and_a_refused_one_is_not(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(1001, "How long does shipping take?")
    root = await world.root()
    await world.slack.click_button(EVE, CHANNEL, root["ts"], "export")  # not an operator
    await world.ephemeral_to(EVE, "Only Baton operators")
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "export")
    await world.slack.wait_for(lambda: len(world.slack.uploads) >= 2, what="the transcript uploaded")
    assert [a for a in await _audit(world) if a[0] == "export"] == [("export", ALICE, 1, None)]
