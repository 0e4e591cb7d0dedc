"""How spooled Slack inputs are keyed, ordered and described to their authors."""

from __future__ import annotations

from operator_bridge import spool_text

REPLY = {"type": "event_callback", "event_id": "Ev1",
         "event": {"type": "message", "user": "U0ALICE", "channel": "C0SUPPORT", "ts": "2.0", "thread_ts": "1.0",
                   "text": "Your order <https://x.example/o/1|#1> ships *today*\nsecond line"}}
BUTTON = {"type": "block_actions", "trigger_id": "T1", "user": {"id": "U0ALICE"}, "channel": {"id": "C0SUPPORT"},
          "container": {"channel_id": "C0SUPPORT", "message_ts": "1.0"}, "message": {"ts": "1.0"},
          "actions": [{"action_id": "resolve", "action_ts": "3.0", "text": {"type": "plain_text", "text": "Resolve"}}]}
COMMAND = {"command": "/takeover", "text": "#2", "user_id": "U0ALICE", "channel_id": "C0SUPPORT",
           "trigger_id": "T2"}
FORM = {"type": "view_submission", "trigger_id": "T3", "user": {"id": "U0ADMIN"},
        "view": {"title": {"type": "plain_text", "text": "New campaign"},
                 "state": {"values": {"message": {"text": {"type": "plain_text_input",
                                                           "value": "Sale <today> & more"}}}}}}


def test_a_reply_and_a_button_on_its_thread_share_a_lane_commands_go_by_person() -> None:
    assert spool_text.lane(REPLY) == spool_text.lane(BUTTON) == "thread:C0SUPPORT:1.0"
    assert spool_text.lane(COMMAND) == spool_text.lane(FORM.copy() | {"user": {"id": "U0ALICE"}}) == "user:U0ALICE"


def test_slack_ids_recognise_a_redelivery() -> None:
    assert spool_text.platform_id(REPLY) == "event:Ev1"
    assert spool_text.platform_id(BUTTON) == "block_actions:T1:3.0"
    assert spool_text.platform_id(COMMAND) != spool_text.platform_id({**COMMAND, "trigger_id": "T9"})


def test_a_given_up_reply_quotes_every_line_its_author_wrote() -> None:
    text = spool_text.given_up(REPLY, "Baton's database was not available")
    assert "> Your order <https://x.example/o/1|#1> ships *today*\n> second line" in text
    assert "please do it again" in text


def test_commands_buttons_and_forms_are_described_in_the_authors_terms() -> None:
    assert "> /takeover #2" in spool_text.given_up(COMMAND, "x")
    assert "“Resolve” button" in spool_text.saved_notice(BUTTON)
    # A form's fields are raw text: escaped for Slack.
    assert "> Sale &lt;today&gt; &amp; more" in spool_text.given_up(FORM, "x")
    assert spool_text.where(FORM) == ("U0ADMIN", "", None)  # no channel: told by direct message
