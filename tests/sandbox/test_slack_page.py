"""The Slack sandbox page reads like Slack: mrkdwn, mentions, dates, emoji and Block Kit, never raw markup."""

from __future__ import annotations

from sandbox.slack_blocks import BlockRenderer
from sandbox.slack_mrkdwn import Mrkdwn

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
