"""Files an operator shared in Slack, sent to the customer as the Telegram type that shows them best."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.core.media import (
    TELEGRAM_PHOTO_UPLOAD_LIMIT,
    TELEGRAM_UPLOAD_LIMIT,
    FetchFile,
    SharedFile,
    TooLarge,
    human_size,
)
from bot.core.ports import Delivered, Failed, Result, RetryLater
from bot.telegram_io.convert import split_html
from bot.telegram_io.errors import classify

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # visible UTF-16 units after entity parsing, like the 4096 of a text message
# Uploads of up to 50 MB can take a while on a slow link; PTB's default media write timeout is 20 s.
_WRITE_TIMEOUT = 120.0
_PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
_VOICE_TYPES = {"audio/ogg", "audio/opus", "audio/x-opus+ogg"}
_AUDIO_TYPES = {"audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a", "audio/m4a"}

SendText = Callable[[int, str], Awaitable[Result]]


def telegram_kind(file: SharedFile) -> str | None:
    """photo | animation | voice | audio | video | document; None when Telegram takes no file this big."""
    if file.size > TELEGRAM_UPLOAD_LIMIT:
        return None
    mime = file.mime_type.lower()
    ext = PurePosixPath(file.name.lower()).suffix
    if mime in _PHOTO_TYPES:
        # Bigger photos are refused by sendPhoto; as a document they still arrive, uncompressed.
        return "photo" if file.size <= TELEGRAM_PHOTO_UPLOAD_LIMIT else "document"
    if mime == "image/gif":
        return "animation"
    if mime in _VOICE_TYPES or ext in (".ogg", ".oga", ".opus"):
        return "voice"
    if mime in _AUDIO_TYPES or ext in (".mp3", ".m4a"):
        return "audio"
    if mime == "video/mp4":
        return "video"
    return "document"


def _too_large(file: SharedFile) -> str:
    return (f"{file.name} ({human_size(file.size)}) is too large for Telegram "
            f"(bots can send files up to {human_size(TELEGRAM_UPLOAD_LIMIT)})")


class SharedFileSender:
    """Sends one operator message with files: the text as the first file's caption when it fits."""

    def __init__(self, bot: Bot, fetch: FetchFile, send_text: SendText) -> None:
        self.bot = bot
        self.fetch = fetch
        self.send_text = send_text

    async def send(self, chat_id: int, markup: str, files: list[SharedFile]) -> Result:
        chunks = split_html(markup, CAPTION_LIMIT)
        caption = chunks[0] if len(chunks) == 1 else None
        sent_id: int | None = None
        if len(chunks) > 1:  # too long for a caption: the text goes first, on its own
            result = await self.send_text(chat_id, markup)
            if not isinstance(result, Delivered):
                return result
            sent_id = result.tg_message_id
        refused: list[str] = []
        for file in files:
            kind = telegram_kind(file)
            data = await self.fetch(file.url) if kind is not None else TooLarge(TELEGRAM_UPLOAD_LIMIT)
            if isinstance(data, TooLarge):
                refused.append(_too_large(file))
                continue
            if isinstance(data, RetryLater):
                return data
            if isinstance(data, Failed):
                refused.append(f"{file.name} could not be fetched from Slack: {data.reason}")
                continue
            assert kind is not None
            result = await self._send_one(chat_id, kind, file, data, caption)
            if isinstance(result, Delivered):
                sent_id, caption = result.tg_message_id, None
            elif isinstance(result, Failed) and not result.unreachable:
                refused.append(f"{file.name}: {result.reason}")
            else:
                return result
        if caption is not None:  # no file could carry the text: it still reaches the customer
            result = await self.send_text(chat_id, markup)
            if not isinstance(result, Delivered):
                return result
            sent_id = result.tg_message_id
        if refused:
            return Failed("; ".join(refused))
        return Delivered(tg_message_id=sent_id)

    async def _send_one(self, chat_id: int, kind: str, file: SharedFile, data: bytes, caption: str | None
                        ) -> Result:
        senders: dict[str, Callable[..., Awaitable[Message]]] = {
            "photo": self.bot.send_photo, "animation": self.bot.send_animation, "voice": self.bot.send_voice,
            "audio": self.bot.send_audio, "video": self.bot.send_video, "document": self.bot.send_document,
        }
        try:
            sent = await senders[kind](chat_id, data, caption=caption, filename=file.name,
                                       parse_mode=ParseMode.HTML if caption else None,
                                       write_timeout=_WRITE_TIMEOUT)
        except BadRequest as exc:
            if kind != "document":
                # A photo with odd dimensions, a voice note that is not OPUS...: it still goes as a file.
                log.info("send%s refused %s (%s); sending it as a document", kind.title(), file.name, exc.message)
                return await self._send_one(chat_id, "document", file, data, caption)
            return classify(exc, what="the file")
        except TelegramError as exc:
            return classify(exc, what="the file")
        return Delivered(tg_message_id=sent.message_id)
