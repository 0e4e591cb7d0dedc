"""Slack mrkdwn to and from neutral HTML (the Telegram HTML subset Baton carries), and plain text.

One import point for both directions: mrkdwn_in.py reads what Slack sends, mrkdwn_out.py writes what
Baton posts.
"""

from __future__ import annotations

from operator_bridge.mrkdwn_in import ZWSP, mrkdwn_to_html
from operator_bridge.mrkdwn_out import html_to_mrkdwn, plain_text

__all__ = ["ZWSP", "html_to_mrkdwn", "mrkdwn_to_html", "plain_text"]
