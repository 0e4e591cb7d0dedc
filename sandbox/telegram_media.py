"""Builders for realistic Telegram media objects (PhotoSize, Document, Voice, ...) and their fake bytes."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

# kind -> (file_path directory, extension, mime type); directories mirror what real getFile returns.
FILE_KINDS: dict[str, tuple[str, str, str]] = {
    "photo": ("photos", "jpg", "image/jpeg"),
    "document": ("documents", "pdf", "application/pdf"),
    "voice": ("voice", "oga", "audio/ogg"),
    "video": ("videos", "mp4", "video/mp4"),
    "video_note": ("video_notes", "mp4", "video/mp4"),
    "audio": ("music", "mp3", "audio/mpeg"),
    "sticker": ("stickers", "webp", "image/webp"),
    "animation": ("animations", "mp4", "video/mp4"),
    "thumbnail": ("thumbnails", "jpg", "image/jpeg"),
}
MEDIA_KINDS = (*[k for k in FILE_KINDS if k != "thumbnail"], "location", "venue", "contact")
# Kinds whose message can carry a caption (stickers, video notes, locations and contacts cannot).
CAPTION_KINDS = {"photo", "document", "voice", "video", "audio", "animation"}
# file_id prefixes loosely follow the real type-tagged ids so they look plausible in logs.
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI", "video_note": "DQACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI", "animation": "CgACAgIAAxkBAAI", "thumbnail": "AAMCAgADGQEAAg",
}
_MAGIC = {
    "photo": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "thumbnail": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "document": b"%PDF-1.4\n", "voice": b"OggS\x00\x02", "audio": b"ID3\x04\x00",
    "video": b"\x00\x00\x00\x18ftypmp42", "video_note": b"\x00\x00\x00\x18ftypmp42",
    "animation": b"\x00\x00\x00\x18ftypisom", "sticker": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}
MB = 1024 * 1024


@dataclass
class StoredFile:
    """A file the fake server can hand out through getFile and the download route."""

    file_id: str
    file_unique_id: str
    file_path: str
    kind: str
    data: bytes = field(repr=False)
    file_size: int = 0  # may exceed len(data) so tests can simulate huge files cheaply


def make_file_ids(kind: str, serial: int, bot_id: int) -> tuple[str, str]:
    """Deterministic but realistic-looking (file_id, file_unique_id)."""
    digest = hashlib.sha256(f"{bot_id}:{kind}:{serial}".encode()).digest()
    long_id = base64.urlsafe_b64encode(digest + digest[:12]).decode().rstrip("=")
    unique = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
    return _ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + long_id, unique


def fake_bytes(kind: str, size: int = 2048) -> bytes:
    """Bytes with the right magic number so MIME sniffers in the bot under test are satisfied."""
    magic = _MAGIC.get(kind, b"")
    filler = bytes((i * 31 + 7) % 256 for i in range(max(0, size - len(magic))))
    return magic + filler


def media_object(kind: str, files: list[StoredFile], fields: dict[str, Any]) -> Any:
    """The value of Message.<kind> for already-stored files (photo: several sizes, largest last)."""
    if kind == "photo":
        dims = [(90, 67), (320, 240), (fields.get("width", 1280), fields.get("height", 960))]
        return [
            {
                "file_id": f.file_id, "file_unique_id": f.file_unique_id,
                "file_size": f.file_size, "width": w, "height": h,
            }
            for f, (w, h) in zip(files, dims[-len(files) :], strict=True)
        ]
    main = files[0]
    obj: dict[str, Any] = {"file_id": main.file_id, "file_unique_id": main.file_unique_id}
    mime = FILE_KINDS[kind][2]
    if kind == "document":
        obj.update(file_name=f"document.{FILE_KINDS[kind][1]}", mime_type=mime)
    elif kind == "voice":
        obj.update(duration=3, mime_type=mime)
    elif kind == "audio":
        obj.update(duration=30, file_name="audio.mp3", mime_type=mime, title="Audio", performer="Unknown")
    elif kind in ("video", "animation"):
        obj.update(width=640, height=360, duration=5, mime_type=mime)
        obj["file_name"] = "animation.gif.mp4" if kind == "animation" else "video.mp4"
    elif kind == "video_note":
        obj.update(length=240, duration=5)
    elif kind == "sticker":
        obj.update(
            width=512, height=512, emoji="😀", set_name="SandboxStickers",
            is_animated=False, is_video=False, type="regular",
        )
    if len(files) > 1:  # the extra file is a thumbnail
        thumb = files[1]
        obj["thumbnail"] = {
            "file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
            "file_size": thumb.file_size, "width": 320, "height": 180,
        }
    obj.update({k: v for k, v in fields.items() if k not in ("data", "media_group_id")})
    obj["file_size"] = main.file_size
    return obj


def non_file_object(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Message.location / .venue / .contact from caller fields with sensible defaults."""
    if kind == "location":
        return {"latitude": 52.520008, "longitude": 13.404954, **fields}
    if kind == "venue":
        return {"location": {"latitude": 52.516275, "longitude": 13.377704}, "title": "Brandenburger Tor",
                "address": "Pariser Platz, 10117 Berlin", **fields}
    return {"phone_number": "+4915112345678", "first_name": "Contact", **fields}
