"""Logging setup that never lets a token out (the Bot API puts the bot token in every URL path).

Redaction runs twice: a filter cleans the message early (for any handler someone adds), and both
formatters redact their final output, which also covers tracebacks and JSON-escaped text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

# A bot token ("123456:AA…", also URL-encoded as 123456%3AAA…) and Slack bot/user/app tokens.
_SECRETS = re.compile(r"(bot)?\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}|xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")

# LogRecord's own attributes; anything else on a record came through `extra=` and goes into the JSON.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: ("bot" if m.group(0).startswith("bot") else "") + "<redacted>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def setup(level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; the formatter would redact it, but it is noise too.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
