"""Customers' media: what a Telegram message carries, and fetching its file for the Slack side."""

from __future__ import annotations

import html
import logging
import mimetypes

from telegram import Animation, Audio, Bot, Document, Message, PhotoSize, Sticker, Video, VideoNote, Voice
from telegram.error import BadRequest, InvalidToken, TelegramError

from bot.core.media import TELEGRAM_DOWNLOAD_LIMIT, CustomerFile, FetchResult, TooLarge
from bot.core.ports import Failed, RetryLater
from bot.telegram_io.errors import classify, redact

log = logging.getLogger(__name__)

# Telegram often gives no name (photos, voice notes, video notes): what the file is called in Slack then.
_DEFAULT_NAMES = {
    "photo": ("photo", "image/jpeg"), "voice": ("voice", "audio/ogg"), "video": ("video", "video/mp4"),
    "video_note": ("video_note", "video/mp4"), "audio": ("audio", "audio/mpeg"),
    "animation": ("animation", "video/mp4"), "sticker": ("sticker", "image/webp"),
    "document": ("document", "application/octet-stream"),
}
# mimetypes' first guesses are sometimes odd (.oga, .jpe); these are what people expect to see.
_EXTENSIONS = {"image/jpeg": ".jpg", "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "video/mp4": ".mp4",
               "image/webp": ".webp", "application/octet-stream": ""}


def _largest(sizes: tuple[PhotoSize, ...]) -> PhotoSize:
    # Telegram lists sizes smallest first, but the order is not a documented promise: compare.
    return max(sizes, key=lambda p: (p.width * p.height, p.file_size or 0))


def _name(kind: str, given: str | None, mime_type: str) -> str:
    if given:
        return given
    stem, _ = _DEFAULT_NAMES[kind]
    ext = _EXTENSIONS.get(mime_type) if mime_type in _EXTENSIONS else mimetypes.guess_extension(mime_type)
    return stem + (ext or "")


def customer_file(message: Message, kind: str) -> CustomerFile | None:
    """The file behind a media message, or None when there is none Slack could show."""
    given_name: str | None = None
    media: PhotoSize | Sticker | Document | Animation | Video | Audio | Voice | VideoNote | None
    if kind == "photo":
        media = _largest(message.photo)
        mime = "image/jpeg"  # Telegram re-encodes every photo as JPEG
    elif kind == "sticker":
        sticker = message.sticker
        if sticker is None or sticker.is_animated or sticker.is_video:
            return None  # TGS/WEBM would need converting; the "[Sticker 😀]" text says enough
        media, mime = sticker, "image/webp"
    elif kind in ("document", "animation", "video", "audio", "voice", "video_note"):
        media = getattr(message, kind)
        if media is None:
            return None
        mime = getattr(media, "mime_type", None) or _DEFAULT_NAMES[kind][1]
        given_name = getattr(media, "file_name", None)
    else:
        return None
    return CustomerFile(file_id=media.file_id, file_name=_name(kind, given_name, mime), mime_type=mime,
                        file_size=media.file_size)


def _map_link(latitude: float, longitude: float) -> str:
    lat, lon = f"{latitude:.6f}".rstrip("0").rstrip("."), f"{longitude:.6f}".rstrip("0").rstrip(".")
    url = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
    return f'{lat}, {lon} (<a href="{html.escape(url)}">map</a>)'


def readable_html(message: Message, kind: str) -> str | None:
    """Locations, venues and contacts as text an operator can act on (the placeholder stays in `text`)."""
    esc = html.escape
    if kind == "venue" and message.venue is not None:
        venue = message.venue
        where = _map_link(venue.location.latitude, venue.location.longitude)
        return f"📍 Venue: <b>{esc(venue.title)}</b>, {esc(venue.address)}, {where}"
    if kind == "location" and message.location is not None:
        location = message.location
        live = " (live)" if location.live_period else ""
        return f"📍 Location{live}: {_map_link(location.latitude, location.longitude)}"
    if kind == "contact" and message.contact is not None:
        contact = message.contact
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        return f"👤 Contact: {esc(name)}, {esc(contact.phone_number)}"
    return None


class CustomerFileFetcher:
    """The `FetchFile` port for customers' files: getFile, then download, all through PTB's Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, file_id: str) -> FetchResult:
        try:
            file = await self.bot.get_file(file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                return TooLarge(TELEGRAM_DOWNLOAD_LIMIT)
            return Failed(f"Telegram cannot hand out the file ({self._clean(exc)})")
        except TelegramError as exc:
            return self._result(classify(exc, what="the file"))
        try:
            data = await file.download_as_bytearray()
        except InvalidToken as exc:
            # The download link 404s: the path getFile just gave is gone. Asking again is the way on.
            return RetryLater(f"Telegram did not serve the file ({self._clean(exc)})")
        except TelegramError as exc:
            return self._result(classify(exc, what="the file"))
        return bytes(data)

    def _clean(self, exc: TelegramError) -> str:
        return redact(exc.message, self.bot.token)

    def _result(self, result: object) -> FetchResult:
        if isinstance(result, RetryLater):
            return RetryLater(redact(result.reason, self.bot.token), after=result.after)
        if isinstance(result, Failed):
            return Failed(redact(result.reason, self.bot.token))
        return RetryLater("unexpected answer from Telegram")
