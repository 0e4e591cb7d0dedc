"""Which Telegram method shows an operator's file best, by type and size."""

from __future__ import annotations

import pytest

from bot.core.media import MB, SharedFile
from bot.telegram_io.shared_files import telegram_kind


@pytest.mark.parametrize(("name", "mime", "size", "kind"), [
    ("label.png", "image/png", 200_000, "photo"),
    ("scan.jpg", "image/jpeg", 9 * MB, "photo"),
    ("scan.jpg", "image/jpeg", 11 * MB, "document"),  # sendPhoto takes up to 10 MB
    ("funny.gif", "image/gif", 1 * MB, "animation"),
    ("diagram.svg", "image/svg+xml", 10_000, "document"),
    ("song.mp3", "audio/mpeg", 4 * MB, "audio"),
    ("memo.m4a", "audio/x-m4a", 1 * MB, "audio"),
    ("answer.ogg", "audio/ogg", 100_000, "voice"),
    ("answer.opus", "application/octet-stream", 100_000, "voice"),
    ("howto.mp4", "video/mp4", 30 * MB, "video"),
    ("site.mov", "video/quicktime", 30 * MB, "document"),
    ("invoice.pdf", "application/pdf", 50 * MB, "document"),
    ("huge.zip", "application/zip", 50 * MB + 1, None),  # nothing over 50 MB
    ("huge.mp4", "video/mp4", 60 * MB, None),
])
def test_telegram_kind(name: str, mime: str, size: int, kind: str | None) -> None:
    assert telegram_kind(SharedFile("https://files.slack.com/x", name, mime, size)) == kind
