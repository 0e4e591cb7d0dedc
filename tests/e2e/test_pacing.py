"""Baton paces itself under the platforms' limits, folds a thread's backlog, and spreads over channels."""

from __future__ import annotations

import itertools

from tests.support.harness import ALICE, CHANNEL, World, card_text

CAROL, DAN = 1001, 1002


async def test_replies_to_one_chat_are_spaced_by_the_per_chat_budget(world: World) -> None:
    await world.start(telegram={"per_chat_per_second": 20, "per_chat_burst": 1})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 2)
    for i in range(5):
        await world.slack.user_posts(ALICE, CHANNEL, f"part {i}", thread_ts=root["ts"])
    sent = (await world.tg.wait_for_messages(CAROL, 7))[1:]
    # 20 per second, measured on the sandbox's clock: any n consecutive sends span n-1 intervals. A send's
    # trip from its slot to the sandbox varies with the machine's load, so each span gets 30 ms of leeway
    # (unpaced, the six would arrive within a few milliseconds of each other).
    at = [m.at for m in sent]
    spans = [(j - i, at[j] - at[i]) for i, j in itertools.combinations(range(len(at)), 2)]
    assert all(span >= n * 0.05 - 0.03 for n, span in spans), spans
    assert [m.text for m in sent[1:]] == [f"part {i}" for i in range(5)]


async def test_a_backlog_at_the_channel_limit_is_folded_in_order_without_hitting_429(world: World) -> None:
    world.slack.per_channel_post_limit = 4.0  # the sandbox answers 429 above this
    await world.start(slack={"per_channel_per_second": 3, "per_channel_burst": 2})
    texts = [f"question number {i}" for i in range(12)]
    for text in texts:
        await world.tg.customer_sends(CAROL, text)
    root = await world.root()
    assert world.baton is not None
    await world.baton.settled(timeout=20)

    thread = world.slack.thread(CHANNEL, root["ts"])
    shown = "\n".join(card_text(m) for m in thread)
    positions = [shown.index(t) for t in texts]
    assert positions == sorted(positions), "every message shown, in order"
    assert len([m for m in thread if any(t in card_text(m) for t in texts)]) < len(texts), "some were folded"
    assert not [c for c in world.slack.call_log if c.get("status") == 429 or c.get("error") == "ratelimited"]


async def test_new_conversations_spread_over_several_channels(world: World) -> None:
    world.slack.add_channel("C0SUPPORT2", "support-2")
    await world.start(slack={"channels": [CHANNEL, "C0SUPPORT2"]})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.customer_sends(DAN, "How long does shipping take?")
    first = await world.root()
    second = await world.slack.wait_for(lambda: world.slack.messages("C0SUPPORT2") and
                                        world.slack.messages("C0SUPPORT2")[0], what="a thread in the 2nd channel")
    assert {"Conversation #1", "Conversation #2"} == {card_text(first)[:15], card_text(second)[:15]}
    other = DAN if "Carol" in card_text(first) else CAROL
    await world.tg.wait_for_messages(other, 1)
    await world.slack.click_button(ALICE, "C0SUPPORT2", second["ts"], "takeover")
    await world.tg.wait_for_messages(other, 2)
    await world.slack.user_posts(ALICE, "C0SUPPORT2", "Hello from the second channel", thread_ts=second["ts"])
    sent = await world.tg.wait_for_messages(other, 3)
    assert sent[-1].text == "Hello from the second channel"
