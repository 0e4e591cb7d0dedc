"""The operator user group survives Slack's bad moments: a 503 with a text body is retried, members are kept."""

from __future__ import annotations

import logging

import pytest

from tests.support.harness import CHANNEL, EVE, World

CAROL = 1001
GROUP = "S0SUPPORT"


async def _eve_takes_over(world: World) -> None:
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(EVE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "Eve Visitor* has taken over")


async def test_a_503_with_a_text_body_at_start_is_retried(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.slack.add_usergroup(GROUP, "support-team", [EVE])
    world.slack.fail_next("usergroups.users.list", status=503)  # answers "sandbox injected HTTP 503" as text
    with caplog.at_level(logging.WARNING, logger="operator_bridge.directory"):
        await world.start(access={"operators": [], "operator_group": GROUP})
    assert next(c for c in world.slack.call_log if c["method"] == "usergroups.users.list")["status"] == 503
    assert f"could not read operator group {GROUP} (HTTP 503); retrying in" in caplog.text
    await _eve_takes_over(world)


async def test_a_refresh_that_keeps_failing_keeps_the_last_known_members(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.slack.add_usergroup(GROUP, "support-team", [EVE])
    baton = await world.start(access={"operators": [], "operator_group": GROUP})
    directory = baton.slack.directory
    directory.retry_base_seconds = 0.01
    world.slack.fail_next("usergroups.users.list", status=503, times=directory.attempts)
    with caplog.at_level(logging.WARNING, logger="operator_bridge.directory"):
        await directory.refresh_group()
    assert f"could not read operator group {GROUP} (HTTP 503); keeping the 1 members known" in caplog.text
    assert sum(c["method"] == "usergroups.users.list" and c.get("status") == 503 for c in world.slack.call_log) \
        == directory.attempts
    await _eve_takes_over(world)

    # A permanent answer is not retried, and still takes nobody's rights away.
    world.slack.fail_next("usergroups.users.list", error="no_such_subteam")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="operator_bridge.directory"):
        await directory.refresh_group()
    assert "(no_such_subteam); keeping the 1 members known" in caplog.text and "retrying" not in caplog.text
    assert baton.access.is_operator(EVE)
