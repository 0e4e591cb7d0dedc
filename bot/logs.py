"""Logging setup that never lets a secret out (the Bot API puts the bot token in every URL path; PTB logs
`setWebhook`'s secret_token at DEBUG).

Redaction runs twice: a filter cleans the message early (for any handler someone adds), and both
formatters redact their final output, which also covers tracebacks and JSON-escaped text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

from bot.config import ENV_SECRETS, Settings

# A bot token ("123456:AA…", also URL-encoded as 123456%3AAA…) and Slack bot/user/app tokens.
_SECRETS = re.compile(r"(bot)?\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}|xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")

# LogRecord's own attributes; anything else on a record came through `extra=` and goes into the JSON.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


# The configured secrets themselves (webhook secret, signing secret, API keys, the database password...), as
# written, URL-encoded and JSON-escaped, longest first: no pattern can know what these look like.
_configured: list[str] = []


def redact(text: str) -> str:
    text = _SECRETS.sub(lambda m: ("bot" if m.group(0).startswith("bot") else "") + "<redacted>", text)
    for secret in _configured:
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return text


def remember_secrets(secrets: Iterable[str | None]) -> None:
    """Redact these exact strings from now on. Very short values are left out: they would blank ordinary words."""
    variants = {form for secret in secrets if secret and len(secret) >= 6
                for form in (secret, quote(secret, safe=""), json.dumps(secret)[1:-1])}
    _configured[:] = sorted(variants, key=len, reverse=True)


def secrets_of(settings: Settings) -> list[str | None]:
    """Every secret in the configuration: the ones the environment may supply, and the database password."""
    values = [getattr(getattr(settings, section), key, None) for section, key in ENV_SECRETS.values()
              if (section, key) != ("storage", "url")]
    return [*values, make_url(settings.storage.url).password]


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


def setup(level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None,
          secrets: Iterable[str | None] = ()) -> None:
    remember_secrets(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; the formatter would redact it, but it is noise too.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
