"""Campaign input that cannot work is refused at the form, and one broken campaign never holds back others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.campaigns import Draft
from bot.core.events import Actor, CampaignCreateRequested
from storage import campaigns as store
from tests.e2e.test_campaigns import ALERTS, _campaign_message, _campaign_sends, _create, _customers, _form
from tests.support.harness import ADMIN, World


def _told_admin(world: World, needle: str) -> bool:
    """A direct message from Baton to the admin (in the app's DM with them) saying `needle`."""
    return any(c["method"] == "chat.postMessage" and str(c["args"].get("channel", "")).startswith("D")
               and needle in str(c["args"].get("text")) for c in world.slack.call_log)


async def test_ids_no_telegram_account_can_have_are_refused_naming_the_line(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 2)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 100})
    for pasted, line in ((f"{ids[0]}\n{ids[1]}\n99999999999999999999", 3), (f"-{ids[0]}", 1),
                         (f"id,name\n{ids[0]},a\n{ids[1]},b\n9223372036854775808,c", 4)):
        answer = await _create(world, _form(audience="ids", value=pasted))
        assert answer.body["response_action"] == "errors", pasted
        assert answer.body["errors"]["audience_value"].startswith(f"Line {line}: "), answer.body
    csv = f"telegram_id\n{ids[0]}\n99999999999999999999\n"
    upload = {"files": [world.slack.host_file(ADMIN, csv.encode(), "audience.csv", "text/csv")]}
    answer = await _create(world, _form(audience="ids", value=str(ids[1]), audience_file=upload))
    assert answer.body["response_action"] == "update"  # files are read after answering Slack
    await world.slack.wait_for(lambda: _told_admin(world, "Line 3 of the file: 99999999999999999999"),
                               what="the admin told which line is wrong")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        assert list(await store.find_recent(session)) == []


async def test_a_campaign_that_cannot_start_is_shown_stopped_and_the_next_one_is_sent(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 3)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 100})
    assert world.baton is not None
    later = datetime.now(UTC) + timedelta(hours=1)
    # Campaigns stored before the form checked ids, or damaged by hand: the sender must cope.
    admin = Actor(ADMIN, "Ada Admin")
    legacy = await world.baton.service.handle(CampaignCreateRequested(admin, Draft(
        text="Legacy list", html="Legacy list", audience="ids", audience_value=f"{ids[0]}\n99999999999999999999\n-5",
        send_at=later)))
    broken = await world.baton.service.handle(CampaignCreateRequested(admin, Draft(
        text="Broken", html="Broken", audience="ids", audience_value=str(ids[0]), send_at=later)))
    assert legacy.campaign_id is not None and broken.campaign_id is not None
    async with world.baton.db.transaction() as session:
        for campaign_id, audience, value in ((legacy.campaign_id, None, None), (broken.campaign_id, "active", "soon")):
            row = await store.get(session, campaign_id or 0)
            assert row is not None
            row.send_at = datetime.now(UTC) - timedelta(seconds=1)
            if audience is not None:
                row.audience, row.audience_value = audience, value or ""
            session.add(row)
    await _campaign_message(world, "Legacy list")
    world.baton.campaigns.wake()

    stopped = await _campaign_message(world, "Stopped")
    assert "could not start (ValueError" in str(stopped)
    await _campaign_message(world, "sent 1 / 1")  # the legacy list, without the numbers no one can have
    answer = await _create(world, _form(message="Spring sale", audience="ids", value=f"{ids[1]}\n{ids[2]}"))
    assert answer.body is None or "errors" not in answer.body
    await _campaign_message(world, "sent 2 / 2")
    assert sorted(m.chat_id for m in _campaign_sends(world, "Spring sale")) == ids[1:]


async def test_a_slow_audience_file_is_answered_at_once_and_a_second_submit_creates_nothing(world: World) -> None:
    world.slack.add_channel(ALERTS, "alerts")
    ids = _customers(world, 3)
    await world.start(slack={"alerts_channel": ALERTS}, campaigns={"per_second": 100})
    world.slack.ack_timeout = 1.0  # well under the time the file host takes
    csv = "telegram_id\n" + "\n".join(map(str, ids))
    upload = {"files": [world.slack.host_file(ADMIN, csv.encode(), "audience.csv", "text/csv")]}
    form = _form(message="Spring sale", audience="ids", audience_file=upload)
    world.slack.hold("files.download")
    answer = await _create(world, form)
    assert answer.status == 200 and answer.body["response_action"] == "update", answer
    await world.slack.wait_for(lambda: world.slack.file_downloads, what="the file being read")
    world.slack.release("files.download")
    await world.slack.wait_for(lambda: _told_admin(world, "Campaign #1 is created"), what="the outcome told")
    await _campaign_message(world, "sent 3 / 3")

    # The same form again (a second press, a replay): nothing more is created or sent.
    again = await world.slack.submit_view(ADMIN, world.slack.views_opened[-1], form)
    assert again.status == 200
    await world.slack.wait_for(lambda: _told_admin(world, "already created its campaign"), what="the admin told")
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        assert len(await store.find_recent(session)) == 1
    assert sorted(m.chat_id for m in _campaign_sends(world, "Spring sale")) == ids
