"""`/baton search` and `/history` in Slack find non-ASCII text in any case (full-text index, not LIKE)."""

from __future__ import annotations

from tests.support.harness import ALICE, CHANNEL, World

MARIA = 3003


async def test_search_and_history_find_cyrillic_in_any_case(world: World) -> None:
    world.tg.add_customer(MARIA, "Мария", last_name="Иванова", language_code="ru")
    await world.start()
    await world.tg.customer_sends(MARIA, "Привет! Где мой ЗАКАЗ?")
    root = await world.root()
    await world.thread_has(root["ts"], "Где мой")
    assert world.baton is not None
    await world.baton.settled()

    await world.slack.slash_command(ALICE, "/baton", "search заказ", channel=CHANNEL)
    hit = await world.ephemeral_to(ALICE, "Привет! Где мой ЗАКАЗ?")
    assert "Мария Иванова" in hit.text
    await world.slack.slash_command(ALICE, "/baton", "search ПРИВ", channel=CHANNEL)
    await world.ephemeral_to(ALICE, "1 message(s)")
    await world.slack.slash_command(ALICE, "/history", "мария", channel=CHANNEL)
    found = await world.ephemeral_to(ALICE, "Telegram id `3003`")
    assert "*Мария Иванова*" in found.text
