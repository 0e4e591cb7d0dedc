"""Bad input gets a clear, quiet answer: never a 500, a traceback or a wedge."""

from __future__ import annotations

import logging
import time

import aiohttp
import pytest

from tests.e2e.test_transports import free_port
from tests.support.harness import ADMIN, ALICE, CHANNEL, WEBHOOK_SECRET, World

CAROL = 1001
NESTED = b"[" * 100_000 + b"]" * 100_000


async def test_junk_to_the_slack_endpoint_is_refused_quietly(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await world.start(slack={"mode": "http"})
    assert world.baton is not None
    url = f"http://127.0.0.1:{world.baton.port}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        unsigned = [(b"{not json", {"Content-Type": "application/json"}), (b"[]", {"Content-Type": "application/json"}),
                    (b"\xff\xfe\x00junk", form),
                    (b"payload=%7B%7D", {**form, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=0"})]
        for body, headers in unsigned:
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 401, body
        signed = [(b"{not json", "application/json"), (b"[]", "application/json"),
                  (b"payload=%5B1%5D", form["Content-Type"]), (b"payload=" + NESTED, form["Content-Type"]),
                  (b'{"a": "\xff"}', "application/json")]
        for body, ctype in signed:
            async with http.post(url, data=body, headers={"Content-Type": ctype, **world.slack.sign(body)}) as resp:
                # Bytes that are not UTF-8 cannot even be checked against the signature: 401 as well.
                assert resp.status == (401 if b"\xff" in body else 400), body[:20]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    # Still serving real requests.
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.slack.click_button("U0ALICE", CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "has taken over")


async def test_a_webhook_call_with_the_secret_but_no_update_is_refused_quietly(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    await world.start(telegram={"mode": "webhook", "webhook_url": url, "webhook_secret": WEBHOOK_SECRET},
                      server={"port": port})
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        for body in (b"[]", b"42", b'"text"', b"null", b'{"update_id": "x"}', b'{"message": {}}', NESTED,
                     b'{"update_id": 1, "message": [1]}'):
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 400, body[:20]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Shipping takes 2-3 business days."


async def test_unicode_digits_and_huge_numbers_get_a_clear_answer(world: World, caplog: pytest.LogCaptureFixture
                                                                  ) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    caplog.set_level(logging.INFO)
    huge = "99999999999999999999"
    answers = {}
    for command, text in (("/takeover", "²"), ("/takeover", f"#{huge}"), ("/handback", "#²"), ("/resolve", huge),
                          ("/takeover", "#9223372036854775808"), ("/history", huge), ("/history", "²"),
                          ("/baton", f"tag {huge} vip"), ("/baton", "tag ² vip"), ("/baton", f"block {huge}"),
                          ("/baton", "campaign cancel ²"), ("/baton", f"campaign cancel #{huge}")):
        answers[f"{command} {text}"] = str((await world.slack.slash_command(ALICE if command != "/baton" else ADMIN,
                                                                            command, text, channel=CHANNEL)).body)
    assert "is not a Telegram user id" in answers["/takeover ²"]
    assert "is not a conversation number" in answers[f"/takeover #{huge}"]
    assert "is not a conversation number" in answers["/handback #²"]
    assert "is not a Telegram user id" in answers[f"/resolve {huge}"]
    assert "is not a conversation number" in answers["/takeover #9223372036854775808"]
    assert "No customer matches" in answers[f"/history {huge}"]
    assert "No customer matches" in answers["/history ²"]
    assert "No customer matches" in answers[f"/baton tag {huge} vip"]
    assert "No customer matches" in answers["/baton tag ² vip"]
    assert "No customer matches" in answers[f"/baton block {huge}"] or "0 customers" in answers[f"/baton block {huge}"]
    assert "is not a campaign number" in answers["/baton campaign cancel ²"]
    assert "is not a campaign number" in answers[f"/baton campaign cancel #{huge}"]
    rating = next(m for m in world.tg.messages_to(CAROL) if m.reply_markup is None)
    for data in ("csat:²:5", f"csat:{huge}:5", "csat:1:²", "csat:-1:5"):
        await world.tg.customer_presses_button(CAROL, rating.message_id, data)
    await world.tg.wait_until(lambda: len(world.tg.callback_answers) >= 4, what="every button press answered")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    await world.slack.slash_command(ALICE, "/takeover", "#1", channel=CHANNEL)  # the real thing still works
    await world.card_says(root["ts"], "has taken over")


async def test_telegram_service_messages_open_nothing_and_raise_no_alert(world: World) -> None:
    world.slack.add_channel("C0ALERTS", "alerts")
    await world.start(slack={"alerts_channel": "C0ALERTS"})
    chat = {"id": CAROL, "type": "private", "first_name": "Carol"}
    sender = {"id": CAROL, "is_bot": False, "first_name": "Carol"}
    pinned = {"message_id": 1, "date": int(time.time()), "chat": chat, "from": sender, "text": "old"}
    notices = [{"pinned_message": pinned}, {"new_chat_title": "Carol & Co"}, {"write_access_allowed": {}},
               {"new_chat_photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]}]
    for number, notice in enumerate(notices, 100):
        await world.tg.push_update({"update_id": 900 + number, "message": {
            "message_id": number, "date": int(time.time()), "chat": chat, "from": sender, **notice}})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")  # after the notices, in order
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.thread_has(root["ts"], "Shipping takes")
    assert len(world.roots()) == 1
    assert not any("Unsupported" in str(m) for m in world.slack.thread(CHANNEL, root["ts"]))
    assert world.slack.messages("C0ALERTS") == []
