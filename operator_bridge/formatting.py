"""Slack mrkdwn to and from the markup tree (and, for stored messages, neutral HTML).

One import point for both directions: mrkdwn_in.py reads what Slack sends, mrkdwn_out.py writes what
Baton posts.
"""

from __future__ import annotations

from bot.core.markup import html_to_plain as plain_text
from operator_bridge.mrkdwn_in import ZWSP, mrkdwn_to_html, mrkdwn_to_markup
from operator_bridge.mrkdwn_out import html_to_mrkdwn, to_mrkdwn

__all__ = ["ZWSP", "html_to_mrkdwn", "mrkdwn_to_html", "mrkdwn_to_markup", "plain_text", "to_mrkdwn"]
