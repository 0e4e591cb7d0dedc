"""Baton: Telegram customer support with an automated agent, mirrored into Slack threads."""

__version__ = "0.1.0"
