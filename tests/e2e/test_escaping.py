"""Customer-, model- and Slack-profile-controlled text never becomes a live mention, broadcast or link in Slack."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from bot.agent.base import AgentReply, AgentRequest
from tests.support.harness import ADMIN, ALICE, CHANNEL, World

ALERTS = "C0ALERTS"
MALLORY = 1066
EVIL_OPERATOR = "U0MALLORY"
EVIL = "<!channel> <!here|here> <!everyone> <@U0EVIL> <#C0EVIL> <https://evil.example/login|Log in>"
# Anything Slack would turn into a notification or a disguised link, when it came from outside.
LIVE = re.compile(r"<(?:!channel|!here|!everyone|@U0EVIL|#C0EVIL|https?://evil)")
# Fields Slack does not parse as mrkdwn (or that are ids and addresses, not text).
_NOT_PARSED = {"url", "action_id", "value", "username", "icon_emoji", "block_id", "channel", "ts", "thread_ts",
               "metadata", "filename", "title", "content", "user", "user_id", "trigger_id", "image_url"}


class HandingOffAgent:
    """A model that answers with outside text and hands off with a reason it was talked into."""

    async def reply(self, request: AgentRequest) -> AgentReply:
        return AgentReply(f"I cannot help with {html.escape(EVIL)}", 0.1, f"customer insists: {EVIL}")


def live_markup(value: Any, key: str = "") -> list[str]:
    """Every string Slack would parse as mrkdwn that still carries a live mention or link."""
    if isinstance(value, str):
        if value[:1] in "[{":
            try:
                return live_markup(json.loads(value), key)
            except ValueError:
                pass
        return [value] if key not in _NOT_PARSED and LIVE.search(value) else []
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []  # never parsed: shown as written
        return [hit for k, v in value.items() for hit in live_markup(v, k)]
    if isinstance(value, list):
        return [hit for v in value for hit in live_markup(v, key)]
    return []


async def test_outside_text_reaches_no_slack_surface_live(world: World) -> None:
    world.agent = HandingOffAgent()  # type: ignore[assignment]
    world.tg.add_customer(MALLORY, "<!channel>", last_name="<https://evil.example|Support>", username="<@U0EVIL>",
                          language_code="<!here>")
    world.slack.add_user(EVIL_OPERATOR, "mallory", real_name=EVIL)
    world.slack.add_channel(ALERTS, "support-alerts")
    await world.start(slack={"alerts_channel": ALERTS},
                      access={"operators": [ALICE, EVIL_OPERATOR], "admins": [ADMIN]})
    answers: list[Any] = []

    await world.tg.customer_sends(MALLORY, f"Hello {EVIL}")  # card, mirror, hand-off note, alert
    root = await world.root()
    await world.thread_has(root["ts"], "Needs a human")
    await world.slack.wait_for(lambda: world.slack.messages(ALERTS), what="the alert")
    await world.tg.customer_sends_media(MALLORY, "photo", caption=f"Look {EVIL}")
    await world.slack.open_home(ALICE)
    await world.slack.wait_for(lambda: ALICE in world.slack.home_views, what="App Home")
    answers.append((await world.slack.slash_command(ALICE, "/takeover", "", channel=CHANNEL)).body)
    answers.append((await world.slack.slash_command(ALICE, "/history", "channel", channel=CHANNEL)).body)
    answers.append((await world.slack.slash_command(ALICE, "/baton", "search Hello", channel=CHANNEL)).body)

    await world.slack.click_button(EVIL_OPERATOR, CHANNEL, root["ts"], "takeover")  # card, note, alert update
    await world.thread_has(root["ts"], "took over")
    await world.slack.user_posts(ALICE, CHANNEL, "a note", thread_ts=root["ts"])  # "… has taken over" to Alice
    await world.ephemeral_to(ALICE, "has taken over this conversation")
    answers.append((await world.slack.slash_command(ALICE, "/takeover", f"#{1}", channel=CHANNEL)).body)
    await world.tg.customer_blocks_bot(MALLORY)
    await world.thread_has(root["ts"], "blocked the bot")
    await world.tg.customer_unblocks_bot(MALLORY)
    await world.thread_has(root["ts"], "unblocked the bot")
    answers.append((await world.slack.slash_command(ADMIN, "/baton", f"block {MALLORY}", channel=CHANNEL)).body)
    answers.append((await world.slack.slash_command(ADMIN, "/baton", f"unblock {MALLORY}", channel=CHANNEL)).body)
    answers.append((await world.slack.slash_command(ADMIN, "/baton", f"tag {MALLORY} vip", channel=CHANNEL)).body)

    await world.slack.click_button(EVIL_OPERATOR, CHANNEL, root["ts"], "resolve")
    await world.thread_has(root["ts"], "resolved the conversation")
    sent = await world.tg.wait_until(lambda: next((m for m in world.tg.messages_to(MALLORY) if m.reply_markup), None),
                                     what="the rating question")
    await world.tg.customer_presses_button(MALLORY, sent.message_id, "csat:1:2")
    await world.card_says(root["ts"], "CSAT")
    await world.tg.customer_sends(MALLORY, f"Bad {EVIL}")  # the rating's comment, shown on the card
    await world.slack.wait_for(lambda: "Bad" in json.dumps(world.slack.message(CHANNEL, root["ts"])),
                               what="the comment on the card")
    opened = len(world.slack.views_opened)  # a campaign whose text, button label and link are outside text too
    await world.slack.slash_command(ADMIN, "/baton", "campaign new", channel=CHANNEL)
    await world.slack.wait_for(lambda: len(world.slack.views_opened) > opened, what="the campaign modal")
    await world.slack.submit_view(ADMIN, world.slack.views_opened[-1], {
        "message": {"value": f"Sale {EVIL}"}, "audience": {"selected_option": {"value": "ids"}},
        "audience_value": {"value": str(MALLORY)}, "button_label": {"value": "<!channel> Shop"},
        "button_url": {"value": "https://shop.example.com"}})
    await world.slack.wait_for(lambda: any("Campaign #1" in json.dumps(m) for m in world.slack.messages(ALERTS)),
                               what="the campaign message")
    answers.append((await world.slack.slash_command(ADMIN, "/baton", "campaign list", channel=CHANNEL)).body)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "export")
    await world.slack.wait_for(lambda: any(c["method"].startswith("files.") for c in world.slack.call_log),
                               what="the export")

    assert any("evil" in json.dumps(c["args"]) for c in world.slack.call_log)  # the text did reach Slack
    live = [(c["method"], hit) for c in world.slack.call_log for hit in live_markup(c["args"])]
    live += [("command answer", hit) for body in answers for hit in live_markup(body)]
    live += [("ephemeral", e.text) for e in world.slack.ephemerals if LIVE.search(e.text or "")]
    assert live == []
