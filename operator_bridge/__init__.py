"""Slack side of Baton: operators work conversations in Slack threads."""
