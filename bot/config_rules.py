"""Checks on configured values that need no network: the example's placeholder ids and URL shapes."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

# The ids config.example.toml ships with: they look valid, so people copy them and run.
EXAMPLE_IDS = {"C0123456789", "C0AAAAAAA", "C0987654321", "U0123ABCD", "S0123ABCD"}
# Telegram delivers webhooks only to these ports (Bot API, setWebhook).
TELEGRAM_WEBHOOK_PORTS = {443, 80, 88, 8443}


_WHERE_IDS_ARE = {"C": "the channel's details → About → Channel ID", "U": "their profile → ⋮ → Copy member ID",
                  "S": "the user group's page; the id is in its URL (S…)"}


def refuse_example_ids(*values: str | None) -> None:
    """Raise on the first id that is one of config.example.toml's (None is skipped)."""
    for value in values:
        if value in EXAMPLE_IDS:
            raise ValueError(f"{value!r} is the placeholder from config.example.toml; put your own id here "
                             f"(from {_WHERE_IDS_ARE[value[0]]})")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL (like https://host/path)")
    return value


def check_webhook_url(value: str | None, api_url: str) -> None:
    """Telegram's own servers deliver webhooks only over HTTPS to a few ports; a local Bot API server
    (or the sandbox) accepts any http(s) address, so the rule applies to api.telegram.org only."""
    if value is None or urlsplit(api_url).hostname != "api.telegram.org":
        return
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError(f"webhook_url {value!r} must be https: Telegram sends webhooks over HTTPS only")
    port = parts.port or 443
    if port not in TELEGRAM_WEBHOOK_PORTS:
        raise ValueError(f"webhook_url port {port} is not one Telegram delivers to; use 443, 80, 88 or 8443")
    if parts.hostname in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):
        raise ValueError(f"webhook_url {value!r} is not reachable from Telegram; use this server's public address")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
