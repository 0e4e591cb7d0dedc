"""Decoding Bot API request parameters the way the real server does (query, form, JSON, multipart)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from sandbox.telegram_types import ApiError, Upload, bad_request

# Values that clients JSON-encode inside form fields (PTB does this for every non-string value).
JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope", "media",
    "link_preview_options", "reply_parameters", "results", "options",
}
INT_FIELDS = {
    "chat_id", "message_id", "offset", "limit", "reply_to_message_id", "message_thread_id",
    "max_connections", "cache_time", "duration", "width", "height", "from_chat_id", "length",
}
FLOAT_FIELDS = {"timeout", "latitude", "longitude"}
BOOL_FIELDS = {
    "disable_notification", "protect_content", "drop_pending_updates", "show_alert", "has_spoiler",
    "disable_web_page_preview", "allow_sending_without_reply", "supports_streaming", "is_personal",
    "disable_content_type_detection", "allow_paid_broadcast", "show_caption_above_media",
}
_INT_RE = re.compile(r"-?\d+")
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # a little over the 50 MB upload limit so we can answer 413 ourselves


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise bad_request(f"can't parse {what} JSON object") from None
    if name in INT_FIELDS and _INT_RE.fullmatch(value.strip()):
        return int(value)
    if name in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if name in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body into one dict, decoding JSON-in-form values and file parts."""
    raw: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    try:
        if content_type == "application/json":
            body = await request.read()
            if body.strip():
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise bad_request("parameters must be a JSON object")
                raw.update(decoded)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    raw[name] = Upload(name, value.filename, value.content_type, data)
                else:
                    raw[name] = value
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request Entity Too Large") from None
    except ValueError:
        raise bad_request("can't parse JSON encoded request") from None
    return {name: _coerce(name, value) for name, value in raw.items()}


class Params:
    """Typed access to one call's parameters with Telegram's error wording."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get(self, name: str, default: Any = None) -> Any:
        value = self.raw.get(name)
        return default if value is None or value == "" else value

    def require(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            raise bad_request(f'parameter "{name}" is required')
        return value

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name, default)
        if value is None or isinstance(value, int):
            return value
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def str(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        return value is True or str(value).lower() in ("1", "true")

    def list(self, name: str) -> list | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise bad_request(f'field "{name}" must be of type Array')
        return value

    def message_id(self) -> int:
        if self.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        value = self.int("message_id")
        assert value is not None
        return value
