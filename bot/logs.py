"""Logging setup that never lets a token out (the Bot API puts the bot token in every URL path)."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(r"(bot)?\d{5,}:[A-Za-z0-9_-]{20,}|xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: ("bot" if m.group(0).startswith("bot") else "") + "<redacted>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; the filter would redact it, but it is noise too.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
