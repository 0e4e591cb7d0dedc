"""What customers read follows their Telegram language, with English for everything not translated."""

from __future__ import annotations

from tests.support.harness import ALICE, CHANNEL, World

CAROL, DAN = 1001, 1002  # Carol's Telegram is in English, Dan's in German


async def test_customers_read_their_language(world: World) -> None:
    await world.start(texts={"de": {"greeting": "Hallo {first_name}!",
                                    "operator_joined": "Sie schreiben jetzt mit {operator}."}})
    await world.tg.customer_sends(DAN, "/start")
    await world.tg.customer_sends(CAROL, "/start")
    assert (await world.tg.wait_for_messages(DAN, 1))[0].text == "Hallo Dan!"
    assert (await world.tg.wait_for_messages(CAROL, 1))[0].text.startswith("Hi Carol!")

    await world.tg.customer_sends(DAN, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(DAN, 2)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    assert (await world.tg.wait_for_messages(DAN, 3))[-1].text == "Sie schreiben jetzt mit Alice."
    await world.card_says(root["ts"], "has taken over")
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "handback")
    back = (await world.tg.wait_for_messages(DAN, 4))[-1].text
    assert back.startswith("You're back with our automated assistant")  # not translated: English
