"""Neutral file helpers: stored form of shared files, sizes as people read them."""

from __future__ import annotations

import pytest

from bot.core.media import MB, SharedFile, decode_shared, encode_shared, file_emoji, human_size


def test_shared_files_round_trip_and_bad_rows_read_as_none() -> None:
    files = (SharedFile("https://files.slack.com/a/x.png", "x.png", "image/png", 12),
             SharedFile("https://files.slack.com/b/y.pdf", "y.pdf", "application/pdf", 34))
    assert decode_shared(encode_shared(files)) == list(files)
    assert encode_shared(()) is None
    assert decode_shared(None) == [] and decode_shared("not json") == []
    assert decode_shared('[{"name": "no url"}, 3]') == []


@pytest.mark.parametrize(("size", "shown"), [(25 * MB, "25 MB"), (60 * MB, "60 MB"), (int(1.5 * MB), "1.5 MB"),
                                             (3 * MB, "3 MB"), (2048, "2 KB"), (10, "1 KB")])
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_file_emoji() -> None:
    assert [file_emoji(m) for m in ("image/png", "audio/ogg", "video/mp4", "application/pdf", None)] == [
        "📷", "🎵", "🎬", "📄", "📄"]
