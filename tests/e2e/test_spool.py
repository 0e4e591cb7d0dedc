"""Slack input acknowledged while the database is away is kept and applied once it is back, in order, once;
what finally cannot be applied is handed back to its author."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app import Baton
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.e2e.test_crash import _config, _spawn
from tests.e2e.test_transports import free_port
from tests.support import databases
from tests.support.harness import ADMIN, ALICE, CHANNEL, WEBHOOK_SECRET, World
from tests.support.outage import CuttableProxy, SqliteLock

CAROL, DAN = 1001, 1002
SAVED = "is saved and will be applied"
# Writes give up quickly while the file is locked: the behaviour of a 45-second lock, without the wait.
FAST_LOCK = {"busy_timeout_seconds": 0.2}

sqlite_only = pytest.mark.skipif(databases.on_postgres(), reason="locks the SQLite file")


async def _taken_over_by_alice(world: World, customer: int, index: int) -> str:
    await world.tg.customer_sends(customer, "How long does shipping take?")
    root = await world.root(index)
    await world.tg.wait_for_messages(customer, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    # Whatever the agent sent first (on a slow machine a holding line may come too), the takeover notice is last.
    await world.tg.wait_until(
        lambda: any(m.text.startswith("You're now talking") for m in world.tg.messages_to(customer)),
        timeout=20, what="the takeover notice")
    assert world.baton is not None
    await world.baton.settled()
    return str(root["ts"])


async def _texts_to(world: World, customer: int, count: int) -> list[str]:
    return [m.text for m in await world.tg.wait_for_messages(customer, count, timeout=20)]


@sqlite_only
async def test_replies_button_and_command_during_a_sqlite_lock_apply_once_in_order(world: World) -> None:
    await world.start(storage=FAST_LOCK)
    carol_root = await _taken_over_by_alice(world, CAROL, 0)
    before = len(world.tg.messages_to(CAROL))
    await world.tg.customer_sends(DAN, "Hello?")
    dan_root = await world.root(1)
    await world.thread_has(dan_root["ts"], "Hello?")
    assert world.baton is not None
    lock = SqliteLock(world.baton.settings.storage.url)

    await lock.hold()
    try:
        await world.slack.user_posts(ALICE, CHANNEL, "First, while locked", thread_ts=carol_root)
        await world.ephemeral_to(ALICE, SAVED)
        await world.slack.user_posts(ALICE, CHANNEL, "Second, while locked", thread_ts=carol_root)
        await world.slack.click_button(ALICE, CHANNEL, carol_root, "resolve")
        answer = await world.slack.slash_command(ALICE, "/takeover", "#2", channel=CHANNEL)
        assert SAVED in answer.body["text"]  # the command's own answer says it waits
        # Slack re-sends an event it thinks was missed: still one input.
        await world.slack.redeliver_last_event()
        # Each input waiting behind the first is acknowledged with the same note: both replies and the button.
        await world.slack.wait_for(lambda: sum(SAVED in (e.text or "") for e in world.slack.ephemerals) == 3,
                                   timeout=10, what="a note for each waiting input")
        assert len(world.tg.messages_to(CAROL)) == before, "nothing applied while the database is locked"
    finally:
        await lock.release()

    texts = await _texts_to(world, CAROL, before + 3)
    assert texts[before:before + 2] == ["First, while locked", "Second, while locked"]
    await world.card_says(carol_root, "Resolved")
    await world.card_says(dan_root["ts"], "Alice Operator* has taken over")
    await world.ephemeral_to(ALICE, "You took over conversation #2")  # the command's answer, late
    assert world.baton is not None
    await world.baton.settled()
    assert [m.text for m in world.tg.messages_to(CAROL)].count("First, while locked") == 1
    assert [m.text for m in world.tg.messages_to(CAROL)].count("Second, while locked") == 1


@sqlite_only
async def test_a_reply_that_cannot_be_applied_in_time_goes_back_to_its_author(world: World) -> None:
    await world.start(storage=FAST_LOCK, slack={"spool_give_up_minutes": 0.02})
    root = await _taken_over_by_alice(world, CAROL, 0)
    before = len(world.tg.messages_to(CAROL))
    assert world.baton is not None
    lock = SqliteLock(world.baton.settings.storage.url)

    await lock.hold()
    try:
        await world.slack.user_posts(ALICE, CHANNEL, "Your refund of *€40* is on its way", thread_ts=root)
        dm = await world.slack.wait_for(lambda: next(
            (m for m in world.slack.messages("D" + ALICE[1:]) if "could not apply" in (m.get("text") or "")), None),
            timeout=20, what="a direct message to the author")
    finally:
        await lock.release()
    assert "> Your refund of *€40* is on its way" in dm["text"]
    assert "please do it again" in dm["text"]

    # The database is back: the next reply goes through, the given-up one never does.
    await world.slack.user_posts(ALICE, CHANNEL, "Back again", thread_ts=root)
    texts = await _texts_to(world, CAROL, before + 1)
    assert texts[before] == "Back again"
    assert world.baton is not None
    await world.baton.settled()
    assert not any("refund" in (m.text or "") for m in world.tg.messages_to(CAROL))


@pytest.fixture
async def pg_proxy() -> AsyncIterator[CuttableProxy]:
    assert databases.PG_URL is not None
    url = make_url(databases.PG_URL)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.mark.skipif(not databases.on_postgres(), reason=f"needs PostgreSQL: set {databases.PG_ENV}")
async def test_replies_during_a_postgresql_cut_apply_once_in_order(world: World, pg_proxy: CuttableProxy) -> None:
    direct = databases.url_for(world.tmp_path)
    await databases.prepare(direct)
    through_proxy = make_url(direct).set(port=pg_proxy.port).render_as_string(hide_password=False)
    baton = await world.start(storage={"url": through_proxy})
    root = await _taken_over_by_alice(world, CAROL, 0)
    await baton.settled()  # a cut during a send would only show Telegram's own duplicate window
    before = len(world.tg.messages_to(CAROL))

    pg_proxy.cut()
    try:
        await world.slack.user_posts(ALICE, CHANNEL, "First, during the cut", thread_ts=root)
        await world.ephemeral_to(ALICE, SAVED)
        await world.slack.user_posts(ALICE, CHANNEL, "Second, during the cut", thread_ts=root)
        await world.slack.click_button(ALICE, CHANNEL, root, "handback")
        assert len(world.tg.messages_to(CAROL)) == before
    finally:
        pg_proxy.restore()

    texts = await _texts_to(world, CAROL, before + 3)
    assert texts[before:before + 2] == ["First, during the cut", "Second, during the cut"]
    await world.card_says(root, "Agent is answering")
    assert world.baton is not None
    await world.baton.settled(timeout=30)
    texts = [m.text for m in world.tg.messages_to(CAROL)]
    assert texts.count("First, during the cut") == 1 and texts.count("Second, during the cut") == 1


@sqlite_only
async def test_sigkill_with_replies_in_the_spool_applies_each_once_in_order_after_restart(
        tg: FakeTelegram, slack: FakeSlack, tmp_path: Path) -> None:
    config, log = _config(tg, slack, tmp_path, storage="busy_timeout_seconds = 0.2"), tmp_path / "baton.log"
    await databases.prepare(databases.url_for(tmp_path))
    lock = SqliteLock(databases.url_for(tmp_path))
    process = _spawn(config, log)
    try:
        await slack.wait_for(lambda: slack.socket_connections == 1, timeout=30, what="Baton connected")
        await tg.customer_sends(CAROL, "Anyone there?")
        root = await slack.wait_for(lambda: slack.messages(CHANNEL) and slack.messages(CHANNEL)[0], timeout=10,
                                    what="the thread")
        await tg.wait_for_messages(CAROL, 1, timeout=10)
        await slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
        await tg.wait_for_messages(CAROL, 2, timeout=10)

        await lock.hold()
        replies = [f"Reply {i} from Alice" for i in range(1, 4)]
        for reply in replies:
            await slack.user_posts(ALICE, CHANNEL, reply, thread_ts=root["ts"])  # acknowledged: spooled
        await slack.wait_for(lambda: any(SAVED in (e.text or "") for e in slack.ephemerals), timeout=10,
                             what="the note that the reply is saved")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        await lock.release()
        assert not [m for m in tg.messages_to(CAROL) if m.text in replies], "nothing applied before the kill"

        process = _spawn(config, log)
        await slack.wait_for(lambda: slack.socket_connections == 1, timeout=30, what="Baton connected again")
        await slack.user_posts(ALICE, CHANNEL, "Done", thread_ts=root["ts"])
        await tg.wait_until(lambda: any(m.text == "Done" for m in tg.messages_to(CAROL)), timeout=30,
                            what=f"the reply after the restart (log: {log})")
    finally:
        process.kill()
        process.wait(timeout=10)
        await lock.release()

    sent = [m.text for m in tg.messages_to(CAROL) if m.text in [*replies, "Done"]]
    assert sent == [*replies, "Done"], "each spooled reply applied once, in order, before the next one"


@sqlite_only
async def test_telegram_webhook_answers_503_while_the_database_is_locked_so_telegram_repeats(world: World) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    await world.start(storage=FAST_LOCK, server={"port": port},
                      telegram={"mode": "webhook", "webhook_url": url, "webhook_secret": WEBHOOK_SECRET})
    world.tg.webhook_retries, world.tg.webhook_retry_delay = 12, 0.05
    assert world.baton is not None
    lock = SqliteLock(world.baton.settings.storage.url)

    await lock.hold()
    try:
        sending = asyncio.create_task(world.tg.customer_sends(CAROL, "Sent while the database is locked"))
        for _ in range(500):  # the sandbox signals sends, not webhook answers: look every 20 ms
            if any(status == 503 for _, status in world.tg.webhook_deliveries):
                break
            await asyncio.sleep(0.02)
        assert any(status == 503 for _, status in world.tg.webhook_deliveries), world.tg.webhook_deliveries
    finally:
        await lock.release()
    await sending
    root = await world.root()
    await world.thread_has(root["ts"], "Sent while the database is locked")
    await world.baton.settled()
    assert len(world.roots()) == 1
    assert len(await world.thread_has(root["ts"], "Sent while the database is locked")) == 1


async def test_a_request_before_the_slack_side_has_started_is_kept_then_applied(world: World) -> None:
    """In HTTP mode the server listens before the Slack side is up (auth.test, the operator group): a request
    that comes then is spooled and answered, not refused, and applied once the Slack side has started."""
    world.slack.add_usergroup("S0OPS", "support-team", [ALICE])
    settings = world.settings(slack={"mode": "http"}, access={"operator_group": "S0OPS"})
    await databases.prepare(settings.storage.url)
    baton = Baton(settings, agent=world.agent, retry_base_seconds=0.01)
    world.slack.hold("usergroups.users.list")  # the Slack side's start waits on the operator group
    starting = asyncio.create_task(baton.start())
    try:
        await world.slack.wait_for(lambda: any(e["method"] == "usergroups.users.list" and e.get("held")
                                               for e in world.slack.call_log), what="Baton's start waiting")
        world.slack.events_url = f"http://127.0.0.1:{baton.port}/slack/events"
        answer = await world.slack.slash_command(ADMIN, "/baton", "help", channel=CHANNEL)
        assert answer.status == 200 and SAVED in answer.body["text"]
        world.slack.release("usergroups.users.list")
        await starting
        world.baton = baton  # stopped by the fixture
        await world.ephemeral_to(ADMIN, "`/baton help` — this list")  # the command's answer, once applied
    finally:
        world.slack.release("usergroups.users.list")
        if world.baton is None:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await baton.stop()
