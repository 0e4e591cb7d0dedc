"""A signed Slack request replayed within its 5-minute window is recognised and applied once."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from storage import audit, customers, staff
from storage import campaigns as store
from tests.support.harness import ADMIN, ALICE, CHANNEL, EVE, World

CAROL = 1001


async def _replay(world: World, delivery: dict) -> int:
    """Send a delivery again byte for byte, with a valid signature for the same body (what an attacker who
    captured it can do while the timestamp is fresh)."""
    payload = delivery["payload"]
    if delivery["type"] == "slash_commands":
        body = urlencode(payload).encode()
    else:
        body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **world.slack.sign(body, int(time.time()))}
    status, _ = await world.slack.send_raw(body, headers)
    return status


async def test_replayed_buttons_and_commands_change_nothing(world: World) -> None:
    await world.start(slack={"mode": "http"})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    takeover = world.slack.deliveries[-1]
    await world.card_says(root["ts"], "Alice Operator* has taken over")
    await world.slack.slash_command(ALICE, "/handback", "#1", channel=CHANNEL)
    handback = world.slack.deliveries[-1]
    await world.card_says(root["ts"], "Agent is answering")

    assert await _replay(world, takeover) == 200
    assert await _replay(world, handback) == 200
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "resolve")  # a genuine press still works
    await world.card_says(root["ts"], "Resolved")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        actions = [r.action for r in await audit.find_for_conversation(session, 1)]
    assert actions == ["takeover", "handback", "resolve"]
    notices = [m.text for m in world.tg.messages_to(CAROL)]
    assert notices.count("You're now talking with Alice.") == 1


async def test_replayed_admin_commands_undo_nothing(world: World) -> None:
    await world.start(slack={"mode": "http"})
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await world.tg.wait_for_messages(CAROL, 1)

    async def run(text: str) -> dict:
        await world.slack.slash_command(ADMIN, "/baton", text, channel=CHANNEL)
        return world.slack.deliveries[-1]

    add_eve = await run(f"operators add <@{EVE}>")
    await run(f"operators remove <@{EVE}>")
    block = await run(f"block {CAROL}")
    await run(f"unblock {CAROL}")
    pause = await run("agent pause")
    await run("agent resume")
    tag = await run(f"tag {CAROL} vip")
    await run(f"untag {CAROL} vip")
    for replayed in (add_eve, block, pause, tag):
        assert await _replay(world, replayed) == 200
    assert world.baton is not None
    assert not world.baton.access.is_operator(EVE)
    async with world.baton.db.transaction() as session:
        carol = await customers.get_by_tg_user_id(session, CAROL)
        assert carol is not None and not carol.blocked and store.tags_of(carol) == []
        assert await staff.list_role(session, "operator") == []
        assert not await staff.agent_paused(session)
