"""The core's replies to operators, worded for Slack.

A reply's text is the core's neutral HTML (outside text already escaped with `bot.core.text.quote`), so it is
rendered through the one markup tree like every other formatted text; the staff member a reply is about is
named with a Slack mention, which only this side knows how to write.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.events import Feedback
from bot.core.stats import Stats, duration
from bot.core.text import quote
from operator_bridge.mrkdwn_out import html_to_mrkdwn


def reply_mrkdwn(fb: Feedback) -> str:
    text = html_to_mrkdwn(fb.text)
    return f"<@{quote(fb.person)}> {text}" if fb.person else text


def replies_mrkdwn(feedback: Iterable[Feedback]) -> str:
    return "\n".join(reply_mrkdwn(fb) for fb in feedback)


def stats_summary(s: Stats) -> str:
    share = f"{s.agent_only_share:.0%}" if s.agent_only_share is not None else "—"
    csat = f"{s.csat_average:.1f}/5 from {s.csat_count} rating(s)" if s.csat_average is not None else "no ratings yet"
    return (f"*Baton stats, last {s.days} days*\n"
            f"• Conversations: {s.conversations}\n"
            f"• Answered by the agent alone: {share} ({s.agent_only})\n"
            f"• Takeovers: {s.takeovers}, median time to takeover {duration(s.time_to_takeover)}\n"
            f"• First response: agent {duration(s.agent_first_response)}, "
            f"humans {duration(s.human_first_response)} (medians)\n"
            f"• Resolution time: {duration(s.resolution)} (median)\n"
            f"• CSAT: {csat}")
