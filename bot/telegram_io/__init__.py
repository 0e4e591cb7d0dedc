"""Telegram side of Baton: receiving customer updates and sending replies."""
