"""/metrics counts what was relayed and reads the backlog; /healthz turns red on a rejected token or a lost database."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp

from bot.core.workers import Worker
from storage.db import Database
from tests.support.harness import ALICE, CHANNEL, World

CAROL = 1001


async def _get(world: World, path: str) -> tuple[int, str]:
    assert world.baton is not None
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{world.baton.port}{path}") as resp:
        return resp.status, await resp.text()


def _value(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$" if labels
                      else rf"^{re.escape(name)} (\S+)$", page, re.MULTILINE)
    assert match, f"{name}{{{wanted}}} not in /metrics"
    return float(match.group(1))


async def test_metrics_count_relays_takeovers_and_agent_answers(world: World) -> None:
    baton = await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "has taken over")
    await world.slack.user_posts(ALICE, CHANNEL, "Hello from Alice", thread_ts=root["ts"])
    await world.tg.wait_for_messages(CAROL, 3)
    await baton.settled()

    status, page = await _get(world, "/metrics")
    assert status == 200
    assert _value(page, "baton_messages_relayed_total", direction="customer_to_slack") == 1
    assert _value(page, "baton_messages_relayed_total", direction="agent_to_slack") == 1
    assert _value(page, "baton_messages_relayed_total", direction="agent_to_customer") == 1
    assert _value(page, "baton_messages_relayed_total", direction="operator_to_customer") == 1
    assert _value(page, "baton_delivery_latency_seconds_count", direction="operator_to_customer") == 1
    assert _value(page, "baton_mode_changes_total", change="takeover") == 1
    assert _value(page, "baton_agent_answers_total", outcome="answered") == 1
    assert _value(page, "baton_agent_latency_seconds_count") == 1
    for destination in ("telegram", "slack", "agent"):
        assert _value(page, "baton_outbox_backlog", destination=destination) == 0
        assert _value(page, "baton_outbox_oldest_pending_age_seconds", destination=destination) == 0


async def test_metrics_count_retries_and_show_a_backlog(world: World) -> None:
    baton = await world.start()
    world.slack.hold("chat.postMessage")
    await world.tg.customer_sends(CAROL, "Hello?")
    await world.slack.wait_for(lambda: any(c[0] == "chat.postMessage" for c in world.slack.calls),
                               what="a post in flight")
    _, page = await _get(world, "/metrics")
    assert _value(page, "baton_outbox_backlog", destination="slack") >= 1
    assert _value(page, "baton_outbox_oldest_pending_age_seconds", destination="slack") > 0
    world.slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    world.slack.release("chat.postMessage")
    await world.root()
    await baton.settled(timeout=20)
    _, page = await _get(world, "/metrics")
    assert _value(page, "baton_delivery_retries_total", destination="slack", kind="open_thread",
                  reason="rate_limited") == 1


async def test_healthz_is_green_with_valid_tokens(world: World) -> None:
    await world.start()
    status, body = await _get(world, "/healthz")
    assert status == 200, body
    assert '"failing": []' in body


async def test_healthz_turns_red_when_telegram_rejects_the_token(world: World) -> None:
    baton = await world.start()
    baton.health.platform_ttl = 0  # look again on every request
    world.tg.token = "999999:REVOKED-token-that-no-longer-works"
    status, body = await _get(world, "/healthz")
    assert status == 503, body
    assert '"failing": ["telegram"]' in body and '"telegram": "invalid_token"' in body


async def test_healthz_turns_red_when_slack_rejects_the_token(world: World) -> None:
    baton = await world.start()
    baton.health.platform_ttl = 0
    world.slack.fail_next("auth.test", error="invalid_auth")
    status, body = await _get(world, "/healthz")
    assert status == 503, body
    assert '"failing": ["slack"]' in body and '"slack": "invalid_token"' in body
    # The answer is cached for platform_ttl; with 0 the next look sees the token work again.
    status, _ = await _get(world, "/healthz")
    assert status == 200


async def test_healthz_turns_red_when_the_database_is_unreachable(world: World) -> None:
    baton = await world.start()
    # Swapping in a database that cannot be opened stands for a lost server: the check runs a real query.
    gone = world.tmp_path / "gone"
    baton.health.db = Database(f"sqlite+aiosqlite:///{gone / 'baton.db'}")
    gone.rmdir()
    gone.write_text("not a directory")  # now the file cannot be opened or created
    try:
        status, body = await _get(world, "/healthz")
    finally:
        await baton.health.db.dispose()
    assert status == 503, body
    assert '"failing": ["database"]' in body and '"database": "unreachable"' in body


async def test_a_failing_background_worker_is_counted_and_shown_not_silent(world: World) -> None:
    baton = await world.start()
    failed = asyncio.Event()

    async def broken() -> None:
        failed.set()
        raise RuntimeError("the body of a background loop broke")

    worker = Worker("test-broken", broken, backoff_base=3600.0)
    baton.workers.track(worker)
    worker.start()
    await failed.wait()

    _, page = await _get(world, "/metrics")
    assert _value(page, "baton_worker_failures_total", worker="test-broken") == 1
    status, body = await _get(world, "/healthz")
    assert status == 200, body  # a worker retrying is visible, not a reason to restart Baton
    workers = json.loads(body)["workers"]
    assert workers["test-broken"]["state"] == "retrying"
    assert "the body of a background loop broke" in workers["test-broken"]["last_error"]
    assert workers["timer-sweeps"] == {"state": "running", "failures": 0}
