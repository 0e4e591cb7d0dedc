"""The one escape for outside text placed inside the markup the core and the Slack adapter write."""

from __future__ import annotations


def quote(value: object) -> str:
    """Outside text (a customer's name, a model's reason, a platform's error, a person's display name) made
    safe to place inside the markup the core writes for operators.

    The one escaping function for every surface: `&`, `<` and `>` as entities is what both Slack mrkdwn and
    HTML require, so `<!channel>`, `<@U…>` or `<https://evil|login>` in a name show as typed instead of
    broadcasting, mentioning or hiding a link. The Slack adapter's builders and its mrkdwn renderer use it."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
