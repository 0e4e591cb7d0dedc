"""Timers over stored state, driven by a clock the test moves: no sleeping, no waiting for real minutes."""

from __future__ import annotations

from datetime import timedelta

from tests.support.harness import ALICE, CHANNEL, ShiftedClock, World, card_text

CAROL = 1001
ALERTS = "C0ALERTS"


async def _sweep(world: World, clock: ShiftedClock, minutes: float) -> None:
    clock.offset += timedelta(minutes=minutes)
    assert world.baton is not None
    await world.baton.timers.sweep()
    await world.baton.settled()


async def _taken_over(world: World, clock: ShiftedClock, **overrides: object) -> str:
    world.clock = clock
    world.slack.add_channel(ALERTS, "support-alerts")
    await world.start(slack={"alerts_channel": ALERTS}, **overrides)  # type: ignore[arg-type]
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 2)
    return str(root["ts"])


async def test_a_silent_owner_is_warned_then_the_agent_takes_back(world: World) -> None:
    clock = ShiftedClock()
    root = await _taken_over(world, clock, timers={"takeover_idle_minutes": 30,
                                                   "takeover_idle_warning_minutes": 5})
    await _sweep(world, clock, 20)
    assert not [m for m in world.slack.thread(CHANNEL, root) if "no reply here" in (m.get("text") or "")]
    await _sweep(world, clock, 6)  # 26 minutes: the warning, once
    await world.thread_has(root, f"<@{ALICE}>, no reply here for 25 minutes")
    await _sweep(world, clock, 1)
    assert len(await world.thread_has(root, "no reply here")) == 1
    await _sweep(world, clock, 4)  # 31 minutes: back to the agent
    await world.card_says(root, "Agent is answering")
    await world.thread_has(root, "*Baton* handed the conversation back")
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 3)]
    assert texts[-1].startswith("You're back with our automated assistant")


async def test_a_late_sweep_still_warns_before_handing_back(world: World) -> None:
    """A restart or a new leader may sweep after the hand-back time: the owner is warned first all the same,
    and a reply after a warning starts a new silence that is warned about again."""
    clock = ShiftedClock()
    root = await _taken_over(world, clock, timers={"takeover_idle_minutes": 30,
                                                   "takeover_idle_warning_minutes": 5})
    await _sweep(world, clock, 40)  # nothing swept for 40 minutes
    await world.thread_has(root, f"<@{ALICE}>, no reply here for 25 minutes")
    assert "has taken over" in card_text(world.slack.message(CHANNEL, root))
    await _sweep(world, clock, 2)
    assert "has taken over" in card_text(world.slack.message(CHANNEL, root))
    await world.slack.user_posts(ALICE, CHANNEL, "Still on it", thread_ts=root)
    await world.tg.wait_for_messages(CAROL, 3)
    await _sweep(world, clock, 26)  # a new silence: a new warning
    assert len(await world.thread_has(root, "no reply here", count=2)) == 2
    await _sweep(world, clock, 5)
    await world.card_says(root, "Agent is answering")


async def test_replying_keeps_the_conversation(world: World) -> None:
    clock = ShiftedClock()
    root = await _taken_over(world, clock, timers={"takeover_idle_minutes": 30})
    await _sweep(world, clock, 20)
    await world.slack.user_posts(ALICE, CHANNEL, "Checking with the warehouse", thread_ts=root)
    await world.tg.wait_for_messages(CAROL, 3)
    await _sweep(world, clock, 15)  # 35 minutes since the takeover, 15 since the reply
    assert "has taken over" in card_text(world.slack.message(CHANNEL, root))


async def test_a_customer_waiting_on_a_human_raises_one_alert_per_wait(world: World) -> None:
    clock = ShiftedClock()
    root = await _taken_over(world, clock, escalation={"waiting_minutes": 10})
    await world.tg.customer_sends(CAROL, "Hello? Anyone?")
    await world.thread_has(root, "Hello? Anyone?")
    await _sweep(world, clock, 5)
    assert world.slack.messages(ALERTS) == []
    await _sweep(world, clock, 6)
    [alert] = world.slack.messages(ALERTS)
    assert "waited 11 minutes for Alice Operator's reply" in card_text(alert)
    await _sweep(world, clock, 10)
    assert len(world.slack.messages(ALERTS)) == 1  # the same wait is not alerted twice
    await world.slack.user_posts(ALICE, CHANNEL, "Sorry, here now!", thread_ts=root)
    await world.tg.wait_for_messages(CAROL, 3)
    await world.tg.customer_sends(CAROL, "Great")
    await world.thread_has(root, "Great")
    await _sweep(world, clock, 11)  # a new wait: a new alert
    assert len(world.slack.messages(ALERTS)) == 2


async def test_a_timer_survives_a_restart_and_idle_conversations_are_resolved(world: World) -> None:
    clock = ShiftedClock()
    world.clock = clock
    await world.start(timers={"close_after_hours": 24})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.stop()
    await world.start(timers={"close_after_hours": 24})
    await _sweep(world, clock, 23 * 60)
    assert "Agent is answering" in card_text(world.slack.message(CHANNEL, root["ts"]))
    await _sweep(world, clock, 2 * 60)
    await world.card_says(root["ts"], "Resolved")
    assert (await world.tg.wait_for_messages(CAROL, 2))[-1].text.startswith("This conversation is now closed")
