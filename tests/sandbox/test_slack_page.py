"""The Slack sandbox page reads like Slack: mrkdwn, mentions, dates, emoji and Block Kit, never raw markup."""

from __future__ import annotations

import asyncio

import aiohttp

from sandbox.slack_blocks import BlockRenderer
from sandbox.slack_mrkdwn import Mrkdwn
from sandbox.slack_server import FakeSlack

NAMES = {"U0OLIVIA": "Olivia Operator"}
md = Mrkdwn(lambda uid: NAMES.get(uid, uid), lambda cid: {"C0SUPPORT": "support"}.get(cid, cid),
            local_link=lambda url: "/?thread=1" if url.startswith("https://sandbox.slack.local/") else None)


def test_formatting_mentions_links_and_emoji() -> None:
    html = md.to_html("*Needs a human* :rotating_light: _now_ ~old~ `x<y` <@U0OLIVIA> in <#C0SUPPORT>\n"
                      "• one\n• two &amp; <https://example.com/a?b=1&amp;c=2|the shop>")
    assert "<b>Needs a human</b> 🚨 <i>now</i> <s>old</s> <code>x&lt;y</code>" in html
    assert '<span class="mention">@Olivia Operator</span> in <span class="mention">#support</span>' in html
    assert "<br>• one<br>• two &amp; " in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener">the shop</a>' in html
    assert "*" not in html and ":rotating_light:" not in html


def test_dates_become_local_time_elements_and_permalinks_open_in_the_page() -> None:
    html = md.to_html("since <!date^1700000000^{time}|22:13 UTC> · <https://sandbox.slack.local/archives/C1/p1|#12>")
    assert '<time class="slack-date" data-epoch="1700000000" data-format="{time}">22:13 UTC</time>' in html
    assert '<a href="/?thread=1">#12</a>' in html
    assert "<!date" not in html


def test_markup_from_people_is_escaped() -> None:
    html = md.to_html("<script>alert(1)</script> <img src=x onerror=alert(1)> <javascript:alert(1)|click>")
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


def test_plain_text_for_terminals() -> None:
    text = md.to_text("*Olivia Operator* has taken over :bust_in_silhouette: <@U0OLIVIA> <https://x.org|site>")
    assert text == "Olivia Operator has taken over 👤 @Olivia Operator site (https://x.org)"


def test_block_kit_sections_fields_buttons_and_inputs() -> None:
    blocks = BlockRenderer(md).blocks([
        {"type": "header", "text": {"type": "plain_text", "text": "Conversation #1"}},
        {"type": "section", "block_id": "s", "fields": [{"type": "mrkdwn", "text": "*Customer*\nAlice"}],
         "accessory": {"type": "button", "action_id": "takeover", "value": "1", "style": "primary",
                       "text": {"type": "plain_text", "text": "Take over"}}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":robot_face: agent"}]},
        {"type": "divider"},
        {"type": "rich_text", "elements": [{"type": "rich_text_list", "style": "bullet", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "bold", "style": {"bold": True}}]}]}]},
        {"type": "input", "block_id": "audience_file", "optional": True, "label": {"type": "plain_text", "text": "CSV"},
         "element": {"type": "file_input", "action_id": "audience_file", "filetypes": ["csv"]}},
    ], {"audience_file": "Not a CSV file"})
    assert '<div class="sk-header">Conversation #1</div>' in blocks
    assert '<div class="sk-field"><b>Customer</b><br>Alice</div>' in blocks
    assert 'class="sk-btn primary" data-action-id="takeover" data-block-id="s" data-value="1"' in blocks
    assert "🤖 agent" in blocks and '<hr class="sk-divider">' in blocks
    assert "<ul><li><b>bold</b></li></ul>" in blocks
    assert 'type="file" name="audience_file" id="field-audience_file" accept=".csv"' in blocks
    assert '<div class="sk-error" role="alert">Not a CSV file</div>' in blocks


async def test_page_fragments_follow_the_viewer_and_events_announce_changes() -> None:
    async with FakeSlack() as slack, aiohttp.ClientSession() as http:
        slack.add_channel("C0SUPPORT", "support")
        slack.add_user("U0OLIVIA", "olivia", real_name="Olivia Operator")
        slack.add_user("U0SAM", "sam", real_name="Sam Sales")
        async with http.get(f"{slack.url}_sandbox/events") as events:
            assert (await events.content.readline()).startswith(b"retry:")
            assert await events.content.readline() == b"data: change\n"
            slack.add_ephemeral("C0SUPPORT", "U0SAM", "Only operators can reply, *Sam*", None, None)
            await asyncio.wait_for(_until_change(events), 5)
        async with http.get(f"{slack.url}_sandbox/fragments?as=U0SAM") as r:
            sam = await r.json()
        async with http.get(f"{slack.url}_sandbox/fragments?as=U0OLIVIA") as r:
            olivia = await r.json()
    assert "Only operators can reply, <b>Sam</b>" in sam["main"] and "Only visible to you" in sam["main"]
    assert "Only operators can reply" not in olivia["main"]  # ephemeral: shown to its user only


async def _until_change(events: aiohttp.ClientResponse) -> None:
    while await events.content.readline() != b"data: change\n":
        pass
