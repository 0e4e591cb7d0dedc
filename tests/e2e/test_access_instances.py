"""Access changes made on one instance hold on every other instance sharing the database, at once."""

from __future__ import annotations

from bot.app import Baton
from tests.support.harness import ADMIN, ALICE, CHANNEL, EVE, World

CAROL = 1001


async def test_an_operator_removed_on_one_instance_is_refused_by_another(world: World) -> None:
    await world.start(slack={"mode": "http"})
    first = world.slack.events_url
    # Each instance keeps its own Slack input spool (a spool file belongs to one process).
    spool = str(world.tmp_path / "second-slack-spool.db")
    other = Baton(world.settings(slack={"mode": "http", "spool_path": spool}), agent=world.agent,
                  retry_base_seconds=0.01)
    await other.start()
    second = f"http://127.0.0.1:{other.port}/slack/events"
    try:
        await world.tg.customer_sends(CAROL, "Do you ship to the moon?")
        root = await world.root()
        await world.thread_has(root["ts"], "Needs a human")

        async def eve_lists_on_the_second() -> str:
            world.slack.events_url = second
            try:
                return str((await world.slack.slash_command(EVE, "/takeover", "", channel=CHANNEL)).body)
            finally:
                world.slack.events_url = first

        assert "Only Baton operators" in await eve_lists_on_the_second()  # loaded at start: not an operator
        for role in ("operators", "admins"):
            added = await world.slack.slash_command(ADMIN, "/baton", f"{role} add <@{EVE}>", channel=CHANNEL)
            assert "is now a Baton" in str(added.body)
            assert "Carol Customer" in await eve_lists_on_the_second()
            removed = await world.slack.slash_command(ADMIN, "/baton", f"{role} remove <@{EVE}>", channel=CHANNEL)
            assert "is no longer a Baton" in str(removed.body)
            assert "Only Baton operators" in await eve_lists_on_the_second()

        # An admin made on the first instance may run admin commands on the second; removed, may not.
        await world.slack.slash_command(ADMIN, "/baton", f"admins add <@{ALICE}>", channel=CHANNEL)
        world.slack.events_url = second
        assert "is running" in str((await world.slack.slash_command(ALICE, "/baton", "status",
                                                                    channel=CHANNEL)).body)
        world.slack.events_url = first
        await world.slack.slash_command(ADMIN, "/baton", f"admins remove <@{ALICE}>", channel=CHANNEL)
        world.slack.events_url = second
        assert "is running" not in str((await world.slack.slash_command(ALICE, "/baton", "status",
                                                                        channel=CHANNEL)).body)
    finally:
        world.slack.events_url = first
        await other.stop()
