"""Both Slack transports, Telegram webhook mode, forged requests, re-deliveries and restarts."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote

import aiohttp
import pytest

from storage import conversations, messages
from tests.support.harness import ALICE, CHANNEL, WEBHOOK_SECRET, World, card_text

CAROL = 1001


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_takeover_reply_and_handback_over_each_slack_transport(world: World, mode: str) -> None:
    await world.start(slack={"mode": mode})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)

    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "has taken over")
    await world.slack.user_posts(ALICE, CHANNEL, "Hello from a human", thread_ts=root["ts"])
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 3)]
    assert texts[1:] == ["You're now talking with Alice.", "Hello from a human"]
    response = await world.slack.slash_command(ALICE, "/handback", "#1", channel=CHANNEL)
    assert "back with the agent" in response.body["text"]
    await world.tg.wait_for_messages(CAROL, 4)
    await world.card_says(root["ts"], "Agent is answering")


def _takeover_payload(world: World, root_ts: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": ALICE, "username": "alice", "team_id": "T0BATON"},
               "api_app_id": "A0BATON", "team": {"id": "T0BATON"}, "channel": {"id": CHANNEL},
               "container": {"type": "message", "message_ts": root_ts, "channel_id": CHANNEL},
               "message": {"ts": root_ts}, "trigger_id": "1.2.3", "response_url": f"{world.slack.url}/response/x",
               "actions": [{"action_id": "takeover", "block_id": "b", "value": "1", "type": "button",
                            "action_ts": str(time.time())}]}
    return f"payload={quote(json.dumps(payload))}".encode()


async def test_slack_http_mode_rejects_forged_and_replayed_requests(world: World) -> None:
    await world.start(slack={"mode": "http"})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    body = _takeover_payload(world, root["ts"])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    forged = {**headers, **world.slack.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    status, _ = await world.slack.send_raw(body, forged)
    assert status == 401
    replayed = {**headers, **world.slack.sign(body, timestamp=int(time.time()) - 6 * 60)}
    status, _ = await world.slack.send_raw(body, replayed)
    assert status == 401
    unsigned = headers
    status, _ = await world.slack.send_raw(body, unsigned)
    assert status == 401
    assert "Agent is answering" in card_text(world.slack.message(CHANNEL, root["ts"]))

    status, _ = await world.slack.send_raw(body, {**headers, **world.slack.sign(body)})
    assert status == 200
    await world.card_says(root["ts"], "Alice Operator* has taken over")


async def test_telegram_webhook_mode_checks_the_secret(world: World) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    await world.start(telegram={"mode": "webhook", "webhook_url": url, "webhook_secret": WEBHOOK_SECRET},
                      server={"port": port})
    assert world.tg.webhook_url == url and world.tg.webhook_secret == WEBHOOK_SECRET

    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Shipping takes 2-3 business days."

    update = {"update_id": 999999, "message": {
        "message_id": 777, "date": int(time.time()), "text": "Sneaky",
        "chat": {"id": CAROL, "type": "private", "first_name": "Carol"},
        "from": {"id": CAROL, "is_bot": False, "first_name": "Carol"}}}
    async with aiohttp.ClientSession() as http:
        for secret in ("wrong-secret", None):
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 403
        async with http.post(url, data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                                                                  "Content-Type": "application/json"}) as resp:
            assert resp.status == 400
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        stored = await messages.find_recent(session, 1)
    assert "Sneaky" not in [m.text for m in stored]


async def test_a_redelivered_telegram_update_is_handled_once(world: World) -> None:
    await world.start()
    message = await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    # The same message again, in a new update, as after a crash before the offset was confirmed.
    await world.tg.push_update({"message": message})
    await world.tg.customer_sends(CAROL, "Thanks!")
    await world.thread_has(root["ts"], "Thanks!")
    questions = [m for m in world.slack.thread(CHANNEL, root["ts"]) if m.get("text") == message["text"]]
    assert len(questions) == 1


async def test_a_retried_slack_event_is_handled_once(world: World) -> None:
    root = await world.taken_over()
    await world.slack.user_posts(ALICE, CHANNEL, "Only once, please", thread_ts=root["ts"])
    await world.tg.wait_for_messages(CAROL, 3)
    response = await world.slack.redeliver_last_event()
    assert response.status == 200
    await world.slack.user_posts(ALICE, CHANNEL, "Second message", thread_ts=root["ts"])
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 4)]
    assert texts[2:] == ["Only once, please", "Second message"]


async def test_state_survives_a_restart(world: World) -> None:
    root = await world.taken_over()
    await world.stop()

    await world.start()
    await world.slack.user_posts(ALICE, CHANNEL, "Still here after a restart", thread_ts=root["ts"])
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 3)]
    assert texts[2] == "Still here after a restart"
    await world.tg.customer_sends(CAROL, "Great, and shipping?")
    await world.thread_has(root["ts"], "Great, and shipping?")
    assert len(world.roots()) == 1  # same conversation, same thread
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        conv = await conversations.get(session, 1)
    assert conv is not None and conv.mode == "human" and conv.owner_slack_user_id == ALICE


async def test_a_poll_s_updates_keep_each_customer_s_order_across_customers(world: World) -> None:
    # Queued before Baton starts, so that its first poll brings them all at once, interleaved.
    customers = [2001, 2002, 2003]
    for n in range(4):
        for customer in customers:
            await world.tg.customer_sends(customer, f"message {n} from {customer}")
    await world.start()
    await world.tg.wait_until(lambda: len(world.roots()) == len(customers), what="a thread per customer")
    assert world.baton is not None
    for customer in customers:
        expected = [f"message {n} from {customer}" for n in range(4)]
        root = next(r for r in world.roots() if str(customer) in card_text(r))
        await world.thread_has(root["ts"], expected[-1])
        mirrored = [m["text"] for m in world.slack.thread(CHANNEL, root["ts"]) if m.get("text") in expected]
        assert mirrored == expected  # in the order the customer wrote them, each once
