"""Campaigns: created from a Slack modal, sent at the configured rate, cancellable, resumed after a restart,
with opted-out and blocked customers skipped and replies opening conversations tagged with the campaign."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sandbox.telegram_types import SentMessage
from tests.support.harness import ADMIN, ALICE, CHANNEL, ShiftedClock, World, button_ids, card_text

CAROL, DAN = 1001, 1002
ALERTS = "C0ALERTS"
FIRST = 5000


def _form(message: str = "Spring *sale*: 20% off", audience: str = "all", value: str = "",
          **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"message": {"value": message}, "audience": {"selected_option": {"value": audience}},
            "audience_value": {"value": value}, **extra}


async def _create(world: World, form: dict[str, dict[str, Any]]) -> Any:
    opened = len(world.slack.views_opened)
    await world.slack.slash_command(ADMIN, "/baton", "campaign new", channel=CHANNEL)
    await world.slack.wait_for(lambda: len(world.slack.views_opened) > opened, what="the campaign modal")
    return await world.slack.submit_view(ADMIN, world.slack.views_opened[-1], form)


def _customers(world: World, n: int) -> list[int]:
    ids = list(range(FIRST, FIRST + n))
    for i in ids:
        world.tg.add_customer(i, f"Customer{i}")
    return ids


def _campaign_sends(world: World, needle: str = "Spring") -> list[SentMessage]:
    return [m for m in world.tg.sent if needle in (m.text or "")]


async def _campaign_message(world: World, needle: str) -> dict[str, Any]:
    return await world.slack.wait_for(
        lambda: next((m for m in world.slack.messages(ALERTS) if needle in card_text(m)), None),
        timeout=15, what=f"the campaign message saying {needle!r}")


async def test_the_modal_explains_what_is_wrong_and_only_admins_may_use_it(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    await world.start(slack={"alerts_channel": ALERTS})
    refused = await world.slack.slash_command(ALICE, "/baton", "campaign new", channel=CHANNEL)
    assert "Only Baton admins" in refused.body["text"] and not world.slack.views_opened

    bad = _form(message="", audience="ids", value="id,name\nnot numbers",
                image_url={"value": "ftp://example.com/x.png"}, button_label={"value": "Shop"})
    answer = await _create(world, bad)
    assert answer.body["response_action"] == "errors"
    assert set(answer.body["errors"]) == {"message", "image_url", "button_url", "audience_value"}
    answer = await _create(world, _form(audience="tag", value="vip"))  # nobody is tagged vip yet
    assert answer.body["errors"] == {"audience": "No customers match this audience."}
    answer = await _create(world, _form(send_at={"selected_date_time": int(time.time()) - 3600}))
    assert "passed" in answer.body["errors"]["send_at"]
    assert world.slack.messages(ALERTS) == [] and world.tg.sent == []


async def test_a_campaign_is_paced_skips_opted_out_and_blocked_and_replies_become_conversations(
        world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 40)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 20})
    await world.tg.customer_sends(CAROL, "/stop")
    [confirmation] = await world.tg.wait_for_messages(CAROL, 1)
    assert "won't receive our announcements" in confirmation.text
    world.tg.chats[FIRST + 1].blocked = True  # blocked the bot before Baton ever heard of them

    form = _form(audience="ids", value=", ".join(map(str, [CAROL, DAN, *ids])), button_label={"value": "Shop now"},
                 button_url={"value": "https://shop.example.com/sale"})
    assert (await _create(world, form)).body in (None, "", {})
    done = await _campaign_message(world, "Done")
    assert "sent 40 / 42 · 1 blocked · 0 failed · 1 skipped" in card_text(done)

    sent = _campaign_sends(world)
    assert len(sent) == 40 and CAROL not in {m.chat_id for m in sent}
    assert sent[0].text == "Spring <b>sale</b>: 20% off"
    assert sent[0].reply_markup["inline_keyboard"][0][0]["url"] == "https://shop.example.com/sale"
    # 20 per second, measured on the sandbox's clock: on average, and in every one-second window.
    assert (len(sent) - 1) / (sent[-1].at - sent[0].at) <= 20.5
    busiest = max(sum(1 for m in sent if a.at <= m.at < a.at + 1.0) for a in sent)
    assert busiest <= 21, busiest

    await world.tg.customer_sends(DAN, "Does the sale include shoes?")
    root = await world.root()
    await world.card_says(root["ts"], "Reply to campaign #1")
    listed = await _campaign_message(world, "Replies: 1 conversations")
    assert "|#1> · Dan" in card_text(listed)  # linked to the thread
    assert [b["accessory"]["action_id"] for b in listed["blocks"] if "accessory" in b] == ["takeover"]
    await world.slack.click_button(ALICE, ALERTS, listed["ts"], "takeover", value="1")
    await world.card_says(root["ts"], "has taken over")
    await world.tg.wait_until(lambda: any(m.text == "You're now talking with Alice."
                                          for m in world.tg.messages_to(DAN)), what="Dan told Alice joined")
    await world.tg.customer_sends(DAN, "Hello again")  # only the first message after the campaign counts
    await world.thread_has(root["ts"], "Hello again")


async def test_a_few_hundred_customers_cancelled_half_way(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 300)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 150})
    await _create(world, _form(audience="ids", value="\n".join(map(str, ids))))
    message = await _campaign_message(world, "Sending")
    await world.tg.wait_until(lambda: len(_campaign_sends(world)) >= 100, timeout=10, what="100 sent")
    await world.slack.click_button(ADMIN, ALERTS, message["ts"], "campaign_cancel")
    cancelled = await _campaign_message(world, "Cancelled by Ada Admin")
    assert world.baton is not None
    await world.baton.settled()
    reached = len(_campaign_sends(world))
    assert 100 <= reached < 300
    final = card_text(world.slack.message(ALERTS, cancelled["ts"]))
    assert f"sent {reached} / 300" in final and "campaign_cancel" not in button_ids(cancelled)
    listing = await world.slack.slash_command(ADMIN, "/baton", "campaign list", channel=CHANNEL)
    assert "#1* · cancelled" in listing.body["text"]


async def test_sending_resumes_after_a_restart_without_repeats(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 150)
    overrides: dict[str, Any] = {"slack": {"alerts_channel": ALERTS}, "campaigns": {"per_second": 100}}
    await world.start(**overrides)
    await _create(world, _form(audience="ids", value=" ".join(map(str, ids))))
    await world.tg.wait_until(lambda: len(_campaign_sends(world)) >= 40, timeout=10, what="40 sent")
    await world.stop()
    stopped_at = len(_campaign_sends(world))
    assert stopped_at < 150

    await world.start(**overrides)
    await _campaign_message(world, "Done")
    per_chat = {i: len([m for m in _campaign_sends(world) if m.chat_id == i]) for i in ids}
    assert set(per_chat.values()) == {1}, "everyone once, nobody twice"


async def test_tags_and_a_scheduled_send(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    world.clock = ShiftedClock()
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 100})
    await world.tg.customer_sends(CAROL, "/start")
    await world.tg.customer_sends(DAN, "/start")
    await world.tg.wait_for_messages(DAN, 1)
    tagged = await world.slack.slash_command(ADMIN, "/baton", "tag @carol vip", channel=CHANNEL)
    assert "Carol Customer's tags: vip" in tagged.body["text"]
    denied = await world.slack.slash_command(ALICE, "/baton", "tag @dan_k vip", channel=CHANNEL)
    assert "Only Baton admins" in denied.body["text"]

    later = int(time.time()) + 3600
    await _create(world, _form(message="VIP preview", audience="tag", value="vip",
                               send_at={"selected_date_time": later}))
    await _campaign_message(world, "Scheduled for")
    assert world.baton is not None
    await world.baton.settled()
    assert _campaign_sends(world, "VIP preview") == []
    # APScheduler keeps the time: the sender's worker is woken when the campaign falls due. The sender sets
    # that alarm in its own step, which settled() (the dispatchers) does not wait for.
    scheduler = world.baton.alarms.scheduler

    def alarm_set() -> bool:
        alarm = scheduler.get_job("wake:campaign-sender")
        return alarm is not None and abs(alarm.next_run_time.timestamp() - later) < 60

    await world.slack.wait_for(alarm_set, timeout=10, what="the sender's alarm for the scheduled campaign")

    world.clock.offset = timedelta(hours=2)
    world.baton.campaigns.wake()
    await _campaign_message(world, "Done")
    assert [m.chat_id for m in _campaign_sends(world, "VIP preview")] == [CAROL]


async def test_an_uploaded_csv_of_telegram_ids_is_the_audience(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 6)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 100})
    csv = "telegram_id,name\n" + "\n".join(f"{i},Customer{i}" for i in ids[:4])
    upload = {"files": [world.slack.host_file(ADMIN, csv.encode(), "audience.csv", "text/csv")]}

    wrong = await _create(world, _form(audience="all", audience_file=upload))
    assert "needs the audience" in wrong.body["errors"]["audience_file"]

    answer = await _create(world, _form(audience="ids", value=str(ids[4]), audience_file=upload))
    assert answer.body is None or "errors" not in answer.body
    await _campaign_message(world, "sent 5 / 5")
    reached = {m.chat_id for m in _campaign_sends(world)}
    assert reached == set(ids[:5])  # the four in the file and the one pasted; the sixth was in neither
