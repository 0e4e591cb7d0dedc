"""Running support from Slack: App Home, history, search, export, `/baton` admin commands and CSAT."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app as cli
from storage import audit, staff
from storage.models import AuditEntry
from tests.support.harness import ADMIN, ALICE, CHANNEL, EVE, World, card_text

CAROL, DAN = 1001, 1002
FAST_HOME = {"slack": {"home_refresh_seconds": 0.05}}


async def _conversation(world: World, user: int = CAROL, text: str = "How long does shipping take?") -> dict:
    before = len(world.tg.messages_to(user))
    await world.tg.customer_sends(user, text)
    root = await world.root(len(world.roots()) - 1 if world.roots() else 0)
    await world.thread_has(root["ts"], "Shipping takes" if "shipping" in text else text)
    if "shipping" in text:
        await world.tg.wait_for_messages(user, before + 1)  # the answer has reached the customer too
    return root


def _home_text(world: World, user: str) -> str:
    view = world.slack.home_views.get(user) or {}
    return card_text(view) + json.dumps(view.get("blocks", []))


async def test_app_home_shows_operators_the_live_dashboard(world: World) -> None:
    await world.start(**FAST_HOME)
    await _conversation(world)
    await world.slack.open_home(ALICE)
    await world.slack.wait_for(lambda: "Agent answering" in _home_text(world, ALICE), what="dashboard")
    view = world.slack.home_views[ALICE]
    assert len(view["blocks"]) <= 100
    assert "Carol Customer" in _home_text(world, ALICE) and '"action_id": "takeover"' in _home_text(world, ALICE)
    # A change refreshes the open Home without another visit.
    await world.tg.customer_sends(DAN, "I want a refund")
    await world.slack.wait_for(lambda: "waiting" in _home_text(world, ALICE) and "Dan" in _home_text(world, ALICE),
                               what="refreshed dashboard")
    assert "Open alerts* (1)" in _home_text(world, ALICE)


async def test_app_home_explains_baton_to_non_operators(world: World) -> None:
    await world.start()
    await _conversation(world)
    await world.slack.open_home(EVE)
    await world.slack.wait_for(lambda: "not a Baton operator" in _home_text(world, EVE), what="explanation")
    assert "Carol" not in _home_text(world, EVE)


async def test_history_and_search(world: World) -> None:
    await world.start()
    await _conversation(world)
    await world.slack.slash_command(ALICE, "/history", "@carol", channel=CHANNEL)
    eph = await world.ephemeral_to(ALICE, "Carol Customer")
    assert "#1" in eph.text and "agent" in eph.text and "https://" in eph.text
    await world.slack.slash_command(ALICE, "/history", "1001", channel=CHANNEL)
    await world.slack.slash_command(ALICE, "/baton", "search SHIPPING", channel=CHANNEL)
    hit = await world.ephemeral_to(ALICE, "containing")
    assert "Carol Customer" in hit.text and "How long does shipping take?" in hit.text
    await world.slack.slash_command(EVE, "/history", "@carol", channel=CHANNEL)
    await world.ephemeral_to(EVE, "Only Baton operators")


async def test_export_uploads_text_and_json_into_the_thread_and_the_cli_writes_a_file(world: World) -> None:
    await world.start()
    root = await _conversation(world)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "export")
    await world.slack.wait_for(lambda: len(world.slack.uploads) >= 2, what="two uploads")
    by_name = {u["filename"]: u for u in world.slack.uploads}
    assert by_name["conversation-1.txt"]["thread_ts"] == root["ts"]
    assert "Carol Customer: How long does shipping take?" in by_name["conversation-1.txt"]["bytes"].decode()
    data = json.loads(by_name["conversation-1.json"]["bytes"])
    assert [m["author"] for m in data[0]["messages"]] == ["customer", "agent"]
    config = world.tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"\n[slack]\n'
                      f'bot_token = "xoxb-1-2-abc"\napp_token = "xapp-1-A1-abc"\nchannel = "C0123ABCD"\n'
                      f'[storage]\nurl = "{world.settings().storage.url}"\n')
    for args, fmt in ((["--conversation", "1"], "json"), (["--customer", "@carol"], "text"),
                      (["--since", "2000-01-01"], "text")):
        out = world.tmp_path / f"export.{fmt}"
        # The CLI runs its own event loop, so it runs beside the test's, as it would in another process.
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--config", str(config), *args,
                                                            "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        body = Path(out).read_text()
        if fmt == "text":
            assert "Shipping takes 2-3 business days." in body
        else:
            assert json.loads(body)[0]["conversation_id"] == 1


async def test_non_admins_are_refused_every_admin_subcommand(world: World) -> None:
    await world.start()
    for sub in ("status", "stats", "operators list", "admins add <@U0EVE>", "block @carol", "agent pause",
                "kb reload"):
        await world.slack.slash_command(ALICE, "/baton", sub, channel=CHANNEL)
        await world.ephemeral_to(ALICE, f"Only Baton admins can use `/baton {sub.split()[0]}`")
    await world.slack.slash_command(ALICE, "/baton", "help", channel=CHANNEL)
    await world.ephemeral_to(ALICE, "/baton agent pause|resume")


async def test_status_stats_and_kb_reload(world: World) -> None:
    await world.start()
    await _conversation(world)
    await world.slack.slash_command(ADMIN, "/baton", "status", channel=CHANNEL)
    status = await world.ephemeral_to(ADMIN, "is running")
    assert "1 with the agent" in status.text and "Outbox backlog" in status.text
    assert "Last delivery error" in status.text
    await world.slack.slash_command(ADMIN, "/baton", "stats 30d", channel=CHANNEL)
    stats = await world.ephemeral_to(ADMIN, "last 30 days")
    assert "Conversations: 1" in stats.text and "CSAT" in stats.text
    chart = await world.slack.wait_for(lambda: next((u for u in world.slack.uploads
                                                     if u["filename"] == "baton-stats-30d.png"), None), what="chart")
    assert chart["bytes"].startswith(b"\x89PNG")
    # The chart goes to the asker's DM only: nothing lands in the channel the command came from.
    assert chart["channel"] == "D" + ADMIN[1:]
    assert not [u for u in world.slack.uploads if u["channel"] == CHANNEL]
    assert "direct message" in stats.text
    await world.slack.slash_command(ADMIN, "/baton", "kb reload", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "no knowledge base to reload")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        actions = [r.action for r in (await session.exec(AuditEntry.__table__.select())).all()]  # type: ignore[attr-defined,call-overload]
    assert "baton status" in str(actions) and "baton stats" in str(actions)


async def test_operators_and_admins_persist_and_config_people_stay(world: World) -> None:
    await world.start()
    await world.slack.slash_command(ADMIN, "/baton", "operators add <@U0EVE|eve>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "<@U0EVE> is now a Baton operator")
    assert world.baton is not None and world.baton.access.is_operator(EVE)
    await world.slack.slash_command(ADMIN, "/baton", "operators remove <@U0ALICE>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "cannot be removed from Slack")
    await world.slack.slash_command(ADMIN, "/baton", "admins add <@U0EVE>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "<@U0EVE> is now a Baton admin")
    await world.stop()
    await world.start()  # a restart keeps what was added in Slack
    assert world.baton is not None and world.baton.access.is_admin(EVE)
    await world.slack.slash_command(EVE, "/baton", "operators list", channel=CHANNEL)
    listing = await world.ephemeral_to(EVE, "Baton operators")
    assert "<@U0ALICE> (config file)" in listing.text and "<@U0EVE> (added in Slack)" in listing.text
    await world.slack.slash_command(ADMIN, "/baton", "admins remove <@U0EVE>", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "no longer a Baton admin")
    assert not world.baton.access.is_admin(EVE)


async def test_blocked_customers_are_stored_but_get_nothing(world: World) -> None:
    await world.start()
    root = await _conversation(world)
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.slash_command(ADMIN, "/baton", "block @carol", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "Carol Customer is blocked")
    await world.tg.customer_sends(CAROL, "spam spam shipping")
    # Updates are handled in order: once Dan's later message has its thread, Carol's is stored.
    await world.tg.customer_sends(DAN, "How long does shipping take?")
    await world.root(1)
    await world.slack.slash_command(ALICE, "/baton", "search spam spam", channel=CHANNEL)
    await world.ephemeral_to(ALICE, "spam spam shipping")  # stored and searchable
    assert world.baton is not None
    await world.baton.settled()
    assert len(world.tg.messages_to(CAROL)) == 1  # only the first answer
    assert not any("spam" in (m.get("text") or "") for m in world.slack.thread(CHANNEL, root["ts"]))
    assert len(world.roots()) == 2  # Carol's and Dan's: no thread for the blocked message
    await world.slack.slash_command(ADMIN, "/baton", "unblock 1001", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "Carol Customer is unblocked")
    await world.tg.customer_sends(CAROL, "and shipping to Spain?")
    await world.tg.wait_for_messages(CAROL, 2)


async def test_agent_pause_sends_new_messages_to_humans(world: World) -> None:
    await world.start(slack={"alerts_channel": CHANNEL})
    await world.slack.slash_command(ADMIN, "/baton", "agent pause", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "The agent is paused")
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    waiting = await world.tg.wait_for_messages(CAROL, 1)
    assert "asked a colleague" in (waiting[0].text or "")
    root = await world.root()
    await world.card_says(root["ts"], "the agent is paused")
    assert world.agent.requests == []  # type: ignore[attr-defined]
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        assert await staff.agent_paused(session)
    await world.slack.slash_command(ADMIN, "/baton", "agent resume", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "answering again")
    await world.tg.customer_sends(DAN, "How long does shipping take?")
    dan = await world.tg.wait_for_messages(DAN, 1)
    assert "Shipping takes" in (dan[0].text or "")


async def test_customers_rate_resolved_conversations_and_may_comment(world: World) -> None:
    await world.start()
    root = await _conversation(world)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "resolve")
    sent = await world.tg.wait_for_messages(CAROL, 3)  # answer, "closed", rating question
    question = sent[2]
    assert question.reply_markup and len(question.reply_markup["inline_keyboard"][0]) == 5
    await world.tg.customer_presses_button(CAROL, question.message_id, "csat:1:4")
    await world.tg.wait_until(lambda: world.tg.callback_answers, what="answerCallbackQuery")
    await world.card_says(root["ts"], "CSAT ★★★★☆ 4/5")
    await world.tg.wait_for_messages(CAROL, 4)  # thanks, inviting a comment
    await world.tg.customer_sends(CAROL, "Quick and friendly")
    await world.card_says(root["ts"], "Quick and friendly")
    assert len(world.roots()) == 1  # the comment opened no new conversation
    await world.slack.slash_command(ADMIN, "/baton", "stats", channel=CHANNEL)
    await world.ephemeral_to(ADMIN, "CSAT: 4.0/5 from 1 rating")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        assert [r.action for r in await audit.find_for_conversation(session, 1)] == ["resolve"]
