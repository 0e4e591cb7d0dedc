"""Nothing lost, nothing doubled, no failure looking like success: delivery through platform errors."""

from __future__ import annotations

from storage import customers
from tests.support.harness import ALICE, CHANNEL, World

CAROL = 1001


async def _taken_over(world: World) -> str:
    root = await world.taken_over()
    return str(root["ts"])


async def _reactions(world: World, ts: str, name: str) -> list[str]:
    return await world.slack.wait_for(
        lambda: (r := world.slack.reactions.get((CHANNEL, ts))) and name in r and r, what=f":{name}: on {ts}")


async def test_a_delivered_reply_gets_a_check_mark(world: World) -> None:
    root = await _taken_over(world)
    reply = await world.slack.user_posts(ALICE, CHANNEL, "On its way", thread_ts=root)
    await world.tg.wait_for_messages(CAROL, 3)
    assert await _reactions(world, reply["ts"], "white_check_mark") == ["white_check_mark"]


async def test_a_customer_who_blocked_the_bot_is_shown_not_hidden(world: World) -> None:
    root = await _taken_over(world)
    await world.tg.customer_blocks_bot(CAROL)
    reply = await world.slack.user_posts(ALICE, CHANNEL, "Are you there?", thread_ts=root)
    assert await _reactions(world, reply["ts"], "warning") == ["warning"]
    await world.thread_has(root, "Not delivered to the customer: the customer has blocked the bot")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        customer = await customers.get_by_tg_user_id(session, CAROL)
    assert customer is not None and customer.unreachable
    assert [m.text for m in world.tg.messages_to(CAROL)][-1] != "Are you there?"


async def test_telegram_flood_control_is_waited_out_and_nothing_doubles(world: World) -> None:
    root = await _taken_over(world)
    world.tg.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 0", retry_after=0,
                       times=2)
    for text in ("one", "two", "three"):
        await world.slack.user_posts(ALICE, CHANNEL, text, thread_ts=root)
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 5)]
    assert texts[2:] == ["one", "two", "three"]
    assert world.baton is not None
    await world.baton.settled()
    assert [m.text for m in world.tg.messages_to(CAROL)][2:] == ["one", "two", "three"]
    attempts = [c for c in world.tg.calls if c[0] == "sendMessage" and c[1].get("text") == "one"]
    assert len(attempts) == 3  # two refused, one accepted


async def test_telegram_network_errors_and_5xx_are_retried_in_order(world: World) -> None:
    root = await _taken_over(world)
    world.tg.drop_next("sendMessage")
    world.tg.fail_next("sendMessage", status=502, description="Bad Gateway")
    await world.slack.user_posts(ALICE, CHANNEL, "first", thread_ts=root)
    await world.slack.user_posts(ALICE, CHANNEL, "second", thread_ts=root)
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 4)]
    assert texts[2:] == ["first", "second"]


async def test_slack_rate_limits_server_errors_and_dropped_connections_lose_nothing(world: World) -> None:
    await world.start()
    world.slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=0)
    world.slack.fail_next("chat.postMessage", status=500, error="internal_error")
    world.slack.drop_next("chat.postMessage")
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.customer_sends(CAROL, "And to Norway?")
    root = await world.root()
    await world.thread_has(root["ts"], "And to Norway?")
    assert world.baton is not None
    await world.baton.settled()
    thread = [m.get("text") for m in world.slack.thread(CHANNEL, root["ts"])]
    assert thread.count("How long does shipping take?") == 1 and thread.count("And to Norway?") == 1
    assert thread.index("How long does shipping take?") < thread.index("And to Norway?")
    assert len(world.roots()) == 1


async def test_a_refused_message_is_reported_in_the_thread(world: World) -> None:
    root = await _taken_over(world)
    world.tg.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    reply = await world.slack.user_posts(ALICE, CHANNEL, "Hello?", thread_ts=root)
    await _reactions(world, reply["ts"], "warning")
    await world.thread_has(root, "Not delivered to the customer: Telegram refused the message")


async def test_a_long_reply_is_split_at_telegrams_limit(world: World) -> None:
    root = await _taken_over(world)
    paragraph = "All good here. " * 60
    text = "\n\n".join([paragraph.strip()] * 6)  # about 5,500 characters
    await world.slack.user_posts(ALICE, CHANNEL, text, thread_ts=root)
    sent = await world.tg.wait_for_messages(CAROL, 4)
    chunks = [m.text or "" for m in sent[2:]]
    assert all(len(c) <= 4096 for c in chunks)
    assert "\n\n".join(chunks) == text


async def test_a_long_reply_interrupted_half_way_resumes_without_repeating_a_chunk(world: World) -> None:
    root = await _taken_over(world)
    paragraph = "Still here. " * 60
    text = "\n\n".join([paragraph.strip()] * 12)  # about 8,700 characters: three chunks
    # The second chunk is refused twice (flood control, then a dropped connection); the first must not repeat.
    world.tg.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 0", retry_after=0,
                       after=1)
    await world.slack.user_posts(ALICE, CHANNEL, text, thread_ts=root)
    await world.tg.wait_for_messages(CAROL, 5)
    assert world.baton is not None
    await world.baton.settled()
    chunks = [m.text or "" for m in world.tg.messages_to(CAROL)[2:]]
    assert len(chunks) == 3 and "\n\n".join(chunks) == text, [len(c) for c in chunks]


async def test_blocking_and_unblocking_the_bot_is_noted_in_the_thread(world: World) -> None:
    root = await _taken_over(world)
    await world.tg.customer_blocks_bot(CAROL)
    await world.thread_has(root, "Carol Customer blocked the bot")
    await world.tg.customer_sends(CAROL, "Sorry, that was a mistake")
    await world.thread_has(root, "Carol Customer unblocked the bot")
    await world.thread_has(root, "Sorry, that was a mistake")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        customer = await customers.get_by_tg_user_id(session, CAROL)
    assert customer is not None and not customer.unreachable
