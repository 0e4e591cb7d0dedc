"""Bot API errors classified once into the dispatcher's values (Delivered / RetryLater / Failed)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.core.ports import Failed, Result, RetryLater

log = logging.getLogger(__name__)


def classify(exc: TelegramError, *, what: str = "the message") -> Result:
    if isinstance(exc, RetryAfter):
        after = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return RetryLater("Telegram flood control", after=seconds)
    if isinstance(exc, Forbidden):
        return Failed(f"the customer has blocked the bot ({exc.message})", unreachable=True)
    if isinstance(exc, InvalidToken):
        log.critical("Telegram rejected the bot token; fix [telegram] token and restart")
        return RetryLater("Telegram rejected the bot token", after=60)
    if isinstance(exc, ChatMigrated):
        return Failed(f"the chat moved to {exc.new_chat_id}")
    if isinstance(exc, BadRequest):
        return Failed(f"Telegram refused {what}: {exc.message}")
    if isinstance(exc, NetworkError):  # includes TimedOut
        if "entity too large" in exc.message.lower():  # HTTP 413 arrives as a NetworkError in PTB
            return Failed(f"Telegram refused {what}: it is too large")
        return RetryLater(f"network error talking to Telegram: {exc.message}")
    return RetryLater(f"Telegram error: {exc.message}")


def redact(text: str, token: str) -> str:
    """File download links carry the bot token in their path: never let one reach a log, a row or Slack."""
    return text.replace(token, "<bot token>") if token else text
