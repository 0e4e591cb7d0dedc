"""A Slack post whose answer was lost (a hang past the timeout, a dropped connection, a 5xx) but which did
land is found by its outbox id before the retry, so it never appears twice."""

from __future__ import annotations

import pytest

from tests.support.harness import CHANNEL, World

CAROL = 1001


def _posts_of(world: World, text: str) -> list[dict]:
    root = world.roots()[0]
    return [m for m in world.slack.thread(CHANNEL, root["ts"]) if m.get("text") == text]


@pytest.mark.parametrize("how", ["hang", "drop", "error"])
async def test_a_post_that_landed_without_an_answer_is_not_posted_again(world: World, how: str) -> None:
    # A call gives up after a second here (30 s by default): the hang outlasts it.
    baton = await world.start(slack={"api_timeout_seconds": 1})
    world.slack.lose_answer_next("chat.postMessage", how, seconds=3)  # the thread's card
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)
    root = await world.root()
    await world.thread_has(root["ts"], "Shipping takes 2-3 business days.")
    await baton.settled()

    world.slack.lose_answer_next("chat.postMessage", how, seconds=3)  # the next mirrored message
    await world.tg.customer_sends(CAROL, "And to Norway?")
    await world.thread_has(root["ts"], "And to Norway?")
    await world.tg.wait_for_messages(CAROL, 2)
    await baton.settled()

    assert len(world.roots()) == 1, "the card was posted once"
    assert len(_posts_of(world, "And to Norway?")) == 1, "the mirror was posted once"
    lost = [c for c in world.slack.call_log if c.get("applied")]
    assert len(lost) == 2, "both answers were lost after the post took effect"
    posted = [(m.get("metadata") or {}).get("event_payload", {}).get("outbox_id")
              for m in [root, *world.slack.thread(CHANNEL, root["ts"])] if m.get("metadata")]
    assert len(posted) == len(set(posted)), f"an outbox row posted twice: {posted}"
