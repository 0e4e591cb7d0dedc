"""A campaign's messages travel in their customers' Telegram lanes, through the one dispatcher: a
conversation keeps moving while a large campaign sends, and a recipient in a conversation gets the campaign
message once, beside the answers in their lane."""

from __future__ import annotations

from tests.e2e.test_campaigns import ALERTS, _campaign_message, _campaign_sends, _create, _customers, _form
from tests.support.harness import World

CAROL = 1001


async def test_a_conversation_is_answered_while_a_large_campaign_sends(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 200)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 20})
    await _create(world, _form(audience="ids", value="\n".join(map(str, ids))))
    await world.tg.wait_until(lambda: len(_campaign_sends(world)) >= 5, what="the campaign under way")
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert "Shipping takes" in answer.text
    # Answered in the middle of the campaign (10 s at 20 a second), not after it.
    assert len(_campaign_sends(world)) < len(ids)
    await _campaign_message(world, "Sending")


async def test_a_recipient_in_a_conversation_gets_the_campaign_once_beside_the_answers(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 50})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)
    await _create(world, _form(audience="ids", value=str(CAROL)))
    await world.tg.customer_sends(CAROL, "And to Spain?")
    done = await _campaign_message(world, "Done")
    assert "sent 1 / 1" in str(done)
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 3)]
    assert texts[0].startswith("Shipping takes") and sum("Spring" in t for t in texts) == 1
