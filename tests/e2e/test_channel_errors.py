"""A channel Slack refuses posts to turns /healthz red with the reason and tells the admins; nothing is lost."""

from __future__ import annotations

import json

import aiohttp

from tests.support.harness import ADMIN, CHANNEL, World

CAROL = 1001
ADMIN_DM = "D" + ADMIN[1:]  # the sandbox's DM channel with a person


async def _health(world: World) -> tuple[int, dict]:
    assert world.baton is not None
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{world.baton.port}/healthz") as resp:
        return resp.status, json.loads(await resp.text())


def _dms_to_admin(world: World) -> list[str]:
    return [m.get("text") or "" for m in world.slack.messages(ADMIN_DM)] if ADMIN_DM in world.slack.channels else []


async def test_a_wrong_channel_id_turns_health_red_and_tells_the_admins(world: World) -> None:
    await world.start(slack={"channel": "C0WRONG"})
    status, body = await _health(world)
    assert status == 200, body

    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)  # the customer is still answered
    dms = await world.slack.wait_for(lambda: _dms_to_admin(world), what="a DM to the admin")
    assert len(dms) == 1 and "C0WRONG" in dms[0] and "channel_not_found" in dms[0]
    status, body = await _health(world)
    assert status == 503
    assert body["failing"] == ["slack"] and body["checks"]["slack"] == "channel_error"
    assert body["problems"] == ["Slack channel C0WRONG: channel_not_found"]

    # Someone fixes it in Slack: the waiting thread is posted, with the message, and health is green again.
    world.slack.add_channel("C0WRONG", "support-2")
    root = await world.slack.wait_for(lambda: world.slack.messages("C0WRONG") and world.slack.messages("C0WRONG")[0],
                                      timeout=15, what="the thread once the channel exists")
    await world.slack.wait_for(
        lambda: any("How long does shipping take?" in (m.get("text") or "")
                    for m in world.slack.thread("C0WRONG", root["ts"])), timeout=15, what="the mirrored message")
    status, body = await _health(world)
    assert status == 200 and "problems" not in body
    assert len(_dms_to_admin(world)) == 1  # told once, not on every retry


async def test_a_bot_removed_from_the_channel_is_reported_until_invited_back(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Hello")
    root = await world.root()
    world.slack.bot_leaves(CHANNEL)
    await world.tg.customer_sends(CAROL, "Anyone there?")
    dms = await world.slack.wait_for(lambda: _dms_to_admin(world), what="a DM to the admin")
    assert "not_in_channel" in dms[0] and "/invite @Baton" in dms[0]
    status, body = await _health(world)
    assert status == 503 and body["problems"] == [f"Slack channel {CHANNEL}: not_in_channel"]

    world.slack.bot_joins(CHANNEL)
    await world.thread_has(root["ts"], "Anyone there?")
    await world.slack.wait_for(lambda: world.baton is not None and not world.baton.slack.deliverer.watch.troubles,
                               what="the channel cleared")
    status, body = await _health(world)
    assert status == 200, body
