"""Files in a conversation, in platform-neutral terms: what is stored, and how one side fetches the other's.

The Telegram side owns the Bot (and its token), the Slack side owns the Slack token; neither imports the
other. The composition root (bot/app.py) hands each deliverer the other side's `FetchFile`, so a file
travels as bytes and no download link (which would carry a token) ever crosses over.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from bot.core.ports import Failed, RetryLater

MB = 1024 * 1024
# Telegram's documented limits ("up to 20 MB" for bots to download; multipart uploads "10 MB photos,
# 50 MB other files"). Binary megabytes: the generous reading; Telegram's own refusal is still handled.
TELEGRAM_DOWNLOAD_LIMIT = 20 * MB
TELEGRAM_PHOTO_UPLOAD_LIMIT = 10 * MB
TELEGRAM_UPLOAD_LIMIT = 50 * MB


@dataclass(frozen=True)
class CustomerFile:
    """A file a customer sent: enough to fetch it later through the Bot API and to name it in Slack."""

    file_id: str
    file_name: str
    mime_type: str | None = None
    file_size: int | None = None


@dataclass(frozen=True)
class SharedFile:
    """A file an operator shared in Slack; `url` needs the Slack bot token (sent in a header, never in it)."""

    url: str
    name: str
    mime_type: str = "application/octet-stream"
    size: int = 0


@dataclass(frozen=True)
class TooLarge:
    """The platform will not hand the file out: too big for a bot to download."""

    limit: int


FetchResult = bytes | TooLarge | RetryLater | Failed
# file_id (Telegram) or url (Slack) -> the bytes, or why not; never raises for platform errors.
FetchFile = Callable[[str], Awaitable[FetchResult]]


async def no_fetch(ref: str) -> FetchResult:
    """For a side built without a fetcher (tools, tests of one side): files show up as unavailable."""
    return Failed("file relay is not configured")


def encode_shared(files: tuple[SharedFile, ...] | list[SharedFile]) -> str | None:
    return json.dumps([asdict(f) for f in files]) if files else None


def decode_shared(raw: str | None) -> list[SharedFile]:
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    return [SharedFile(**{k: item[k] for k in ("url", "name", "mime_type", "size") if k in item})
            for item in items if isinstance(item, dict) and item.get("url")]


def human_size(size: int) -> str:
    if size >= MB:
        value = size / MB
        return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def file_emoji(mime_type: str | None) -> str:
    major = (mime_type or "").split("/", 1)[0]
    return {"image": "📷", "audio": "🎵", "video": "🎬"}.get(major, "📄")
