"""Who may act: listed operators, members of the operator user group, admins; everyone's actions audited."""

from __future__ import annotations

from pathlib import Path

import yaml

from storage import audit
from tests.support.harness import ALICE, CHANNEL, EVE, World

CAROL = 1001


async def test_members_of_the_operator_group_are_operators(world: World) -> None:
    world.slack.add_usergroup("S0SUPPORT", "support-team", [EVE])
    await world.start(access={"operators": [], "operator_group": "S0SUPPORT"})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(EVE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "Eve Visitor* has taken over")
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "resolve")  # Alice is in neither list
    await world.ephemeral_to(ALICE, "Only Baton operators")


async def test_every_change_of_hands_is_audited_with_its_source(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "has taken over")
    await world.slack.slash_command(ALICE, "/handback", "#1", channel=CHANNEL)
    await world.slack.slash_command(ALICE, "/resolve", "@carol", channel=CHANNEL)
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        rows = await audit.find_for_conversation(session, 1)
    assert [(r.action, r.source, r.actor_slack_user_id, r.actor_name) for r in rows] == [
        ("takeover", "button", ALICE, "Alice Operator"),
        ("handback", "command", ALICE, "Alice Operator"),
        ("resolve", "command", ALICE, "Alice Operator"),
    ]
    assert all(r.at is not None for r in rows)


def test_the_manifest_declares_what_baton_listens_to() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "operator_bridge" / "manifest.yml").read_text())
    features = manifest["features"]
    assert {c["command"] for c in features["slash_commands"]} == {"/takeover", "/handback", "/resolve", "/baton",
                                                                 "/history"}
    assert [s["callback_id"] for s in features["shortcuts"]] == ["takeover_message"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "chat:write.customize", "commands", "channels:history", "reactions:write",
            "users:read", "usergroups:read", "files:write", "im:write"} <= scopes
    assert "message.channels" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert len(manifest["display_information"]["name"]) <= 35


async def test_only_operators_see_the_list_of_open_conversations(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Do you ship to the moon?")  # waits for a human
    root = await world.root()
    await world.thread_has(root["ts"], "Needs a human")
    refused = await world.slack.slash_command(EVE, "/takeover", "", channel=CHANNEL)
    assert "Only Baton operators" in str(refused.body)
    assert "Carol" not in str(refused.body) and "takeover" not in str(refused.body.get("blocks") or "")
    listed = await world.slack.slash_command(ALICE, "/takeover", "", channel=CHANNEL)
    assert "Carol Customer" in str(listed.body)
