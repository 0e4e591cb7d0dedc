"""Calls for a human: rules and agent hand-offs raise alerts with a working Take over, updated in place."""

from __future__ import annotations

from typing import Any

from tests.support.harness import ALICE, CHANNEL, World, button_ids, card_text

CAROL = 1001
ALERTS = "C0ALERTS"


async def _alert(world: World, needle: str) -> dict[str, Any]:
    return await world.slack.wait_for(
        lambda: next((m for m in world.slack.messages(ALERTS) if needle in card_text(m)), None),
        what=f"an alert saying {needle!r}")


async def test_an_unanswerable_question_raises_an_alert_whose_button_takes_over(world: World) -> None:
    world.slack.add_channel(ALERTS, "support-alerts")
    await world.start(slack={"alerts_channel": ALERTS})
    await world.tg.customer_sends(CAROL, "Do you ship to the moon?")  # the scripted agent hands off
    alert = await _alert(world, "Needs a human")
    text = card_text(alert)
    assert "no confident answer" in text and "Carol Customer" in text and "@carol" in text
    assert "Do you ship to the moon?" in text  # the last messages
    root = await world.root()
    assert root["ts"].replace(".", "") in text  # a link to the thread
    assert button_ids(alert) == ["takeover"]
    await world.tg.wait_for_messages(CAROL, 1)  # the agent's holding line

    await world.slack.click_button(ALICE, ALERTS, alert["ts"], "takeover")
    updated = await world.slack.wait_for(
        lambda: "Alice Operator took over" in card_text(world.slack.message(ALERTS, alert["ts"]))
        and world.slack.message(ALERTS, alert["ts"]), what="the alert updated in place")
    assert button_ids(updated) == []
    await world.card_says(root["ts"], "Alice Operator* has taken over")
    assert (await world.tg.wait_for_messages(CAROL, 2))[-1].text == "You're now talking with Alice."


async def test_asking_for_a_person_skips_the_agent_and_tells_the_customer_once(world: World) -> None:
    world.slack.add_channel(ALERTS, "support-alerts")
    await world.start(slack={"alerts_channel": ALERTS})
    await world.tg.customer_sends(CAROL, "/human")
    alert = await _alert(world, "asked for a person (/human)")
    [notice] = await world.tg.wait_for_messages(CAROL, 1)
    assert notice.text == "I've asked a colleague to join. They will reply here shortly."
    root = await world.root()
    await world.card_says(root["ts"], "Waiting for a human")
    await world.thread_has(root["ts"], "Needs a human")

    await world.tg.customer_sends(CAROL, "How long does shipping take?")  # the agent could, but must not
    await world.thread_has(root["ts"], "How long does shipping take?")
    assert world.baton is not None
    await world.baton.settled()
    assert len(world.tg.messages_to(CAROL)) == 1
    assert world.agent.requests == []  # type: ignore[attr-defined]
    assert len(world.slack.messages(ALERTS)) == 1 and alert


async def test_a_keyword_rule_and_resolving_closes_the_alert(world: World) -> None:
    world.slack.add_channel(ALERTS, "support-alerts")
    await world.start(slack={"alerts_channel": ALERTS}, escalation={"keywords": [r"\blawyer\b"]})
    await world.tg.customer_sends(CAROL, "My lawyer will call you")
    alert = await _alert(world, "matches the rule")
    response = await world.slack.slash_command(ALICE, "/resolve", "#1", channel=CHANNEL)
    assert "resolved" in response.body["text"]
    await world.slack.wait_for(
        lambda: "resolved by Alice Operator" in card_text(world.slack.message(ALERTS, alert["ts"])),
        what="the alert marked resolved")


async def test_without_an_alerts_channel_the_thread_still_says_so(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "I want a refund")
    root = await world.root()
    await world.thread_has(root["ts"], "Needs a human")
    await world.card_says(root["ts"], "Waiting for a human")
