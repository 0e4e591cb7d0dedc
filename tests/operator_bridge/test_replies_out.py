"""The core's replies to operators, worded for Slack: the same text operators saw when the core wrote mrkdwn."""

from __future__ import annotations

from bot.core.events import Action, Button, Feedback
from bot.core.text import quote
from operator_bridge import blocks
from operator_bridge.replies_out import replies_mrkdwn, reply_mrkdwn


def test_emphasis_a_person_and_outside_text() -> None:
    assert reply_mrkdwn(Feedback("Your edit was <b>not</b> sent to the customer: too old. They still see it.")) == (
        "Your edit was *not* sent to the customer: too old. They still see it.")
    assert reply_mrkdwn(Feedback("is now a Baton operator.", person="U0EVE")) == "<@U0EVE> is now a Baton operator."
    hostile = f"{quote('<!channel> & co')} has taken over this conversation."
    assert reply_mrkdwn(Feedback(hostile)) == "&lt;!channel&gt; &amp; co has taken over this conversation."
    assert replies_mrkdwn([Feedback("One."), Feedback("Two.")]) == "One.\nTwo."


def test_the_core_names_the_action_and_the_button_carries_slacks_id() -> None:
    text, body = blocks.feedback(Feedback("Not sent.", (Button(Action.TAKEOVER_AND_SEND, "Take over and send", "1:2.0"),
                                                        Button(Action.KEEP_AS_NOTE, "Keep as note", "1:2.0"))))
    assert text == "Not sent."
    assert [b["action_id"] for b in body[1]["elements"]] == ["takeover_and_send", "keep_as_note"]
