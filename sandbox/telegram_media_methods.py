"""Bot API methods that carry files: sendPhoto & co, sendMediaGroup and getFile."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sandbox.telegram_media import MB, StoredFile, fake_bytes, media_object
from sandbox.telegram_methods import (
    MAX_CAPTION,
    Handler,
    api,
    bot_message,
    finish_send,
    format_text,
    require_chat,
    set_formatted,
)
from sandbox.telegram_params import Params
from sandbox.telegram_state import TelegramState
from sandbox.telegram_types import ApiError, Upload, bad_request

MAX_DOWNLOAD = 20 * MB  # bots may only download files up to 20 MB through getFile
_DECLARED_FIELDS = {
    "voice": ("duration",),
    "audio": ("duration", "performer", "title"),
    "video": ("duration", "width", "height"),
    "animation": ("duration", "width", "height"),
    "video_note": ("duration", "length"),
    "sticker": ("emoji",),
}


def resolve_file(s: TelegramState, p: Params, value: Any, kind: str) -> tuple[list[StoredFile], dict]:
    """Turn an upload, attach:// reference, file_id or URL into stored files plus object fields."""
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.raw.get(value[len("attach://") :])
        if not isinstance(value, Upload):
            raise bad_request(f"wrong file identifier/HTTP URL specified for {kind}")
    fields: dict[str, Any] = {}
    if isinstance(value, Upload):
        if value.size == 0:
            raise bad_request("file must be non-empty")
        if value.size > 50 * MB:
            raise ApiError(413, "Request Entity Too Large")
        if kind == "photo" and value.size > 10 * MB:
            raise bad_request("file is too big")
        suffix = PurePosixPath(value.filename or "").suffix.lstrip(".")
        main = s.store_file(kind, value.data, ext=suffix if kind == "document" and suffix else None)
        if kind in ("document", "audio", "video", "animation") and value.filename:
            fields["file_name"] = value.filename
        if kind in ("document", "audio", "video") and value.content_type:
            fields["mime_type"] = value.content_type
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        main = s.store_file(kind)  # the sandbox never fetches URLs; it pretends the download worked
    elif isinstance(value, str) and value:
        if value not in s.files:
            raise bad_request("wrong file identifier/HTTP URL specified")
        main = s.files[value]
    else:
        raise bad_request(f"there is no {kind} in the request")
    if kind == "photo":  # Telegram re-encodes photos into several sizes, the original last
        thumbs = [s.store_file("photo", fake_bytes("photo", size)) for size in (1200, 9000)]
        return [*thumbs, main], fields
    return [main], fields


def _media_sender(kind: str) -> Handler:
    async def send_media(s: TelegramState, p: Params, method: str) -> Any:
        chat = require_chat(s, p)
        value = p.get(kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        caption = p.str("caption") or ""
        plain, entities = format_text(
            caption, p, "caption_entities", limit=MAX_CAPTION, too_long="message caption is too long"
        )
        files, fields = resolve_file(s, p, value, kind)
        # Metadata the bot declares (duration, size, title...) shows up in the returned object.
        fields.update({k: p.get(k) for k in _DECLARED_FIELDS.get(kind, ()) if p.get(k) is not None})
        s.check_flood(chat.id)
        message = bot_message(s, chat, p)
        message[kind] = media_object(kind, files, fields)
        if kind == "animation":  # Telegram also fills `document` for animations, for old clients
            doc_fields = {k: v for k, v in fields.items() if k in ("file_name", "mime_type")}
            message["document"] = media_object("document", files[:1], doc_fields)
        set_formatted(message, "caption", plain, entities)
        return await finish_send(s, method, chat, message, p, caption or None)

    return send_media


for _kind in ("photo", "document", "voice", "audio", "video", "animation", "sticker", "video_note"):
    api("send" + _kind.title().replace("_", ""))(_media_sender(_kind))


@api("sendMediaGroup")
async def send_media_group(s: TelegramState, p: Params, method: str) -> Any:
    chat = require_chat(s, p)
    items = p.list("media")
    if items is None:
        raise bad_request('parameter "media" is required')
    if not items:
        raise bad_request("there are no messages to send")
    if len(items) > 10:
        raise bad_request("too many messages to send as an album")
    if len(items) < 2:
        raise bad_request("media group must include 2-10 items")
    kinds = [item.get("type") for item in items]
    for kind in kinds:
        if kind not in ("photo", "video", "document", "audio"):
            raise bad_request(f"can't parse InputMedia: type \"{kind}\" can't be used in sendMediaGroup")
        if kind in ("document", "audio") and any(k != kind for k in kinds):
            raise bad_request(f"{kind} can't be mixed with other media types")
    prepared = []
    for item in items:
        item_p = Params({**p.raw, **item})
        caption = item.get("caption") or ""
        plain, entities = format_text(
            caption, item_p, "caption_entities", limit=MAX_CAPTION, too_long="message caption is too long"
        )
        files, fields = resolve_file(s, p, item.get("media"), item["type"])
        prepared.append((item, item_p, caption, plain, entities, files, fields))
    s.check_flood(chat.id)
    group_id, results = s.next_media_group_id(), []
    for item, item_p, caption, plain, entities, files, fields in prepared:
        message = bot_message(s, chat, p)
        message.pop("reply_markup", None)  # albums cannot carry keyboards
        message["media_group_id"] = group_id
        message[item["type"]] = media_object(item["type"], files, fields)
        set_formatted(message, "caption", plain, entities)
        results.append(await finish_send(s, method, chat, message, item_p, caption or None))
    return results


@api("getFile")
async def get_file(s: TelegramState, p: Params, method: str) -> Any:
    stored = s.files.get(p.require("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size, "file_path": stored.file_path,
    }


