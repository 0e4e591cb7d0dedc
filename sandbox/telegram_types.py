"""The fake Telegram's value types: what the bot sent, uploaded files, chats, API errors and injected faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Methods that post a message into a chat: what fail_next("*") and flood control apply to.
SEND_METHODS = {
    "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo", "sendAnimation",
    "sendSticker", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendContact", "copyMessage",
    "forwardMessage",
}


@dataclass
class SentMessage:
    """One message the bot successfully sent (or, in `edits`, one successful edit)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None  # text or caption exactly as the bot sent it (markup included)
    parse_mode: str | None
    entities: list | None  # entities of the resulting message (parsed from HTML or given explicitly)
    reply_markup: dict | None
    at: float  # time.monotonic() when the server accepted it
    params: dict
    plain_text: str | None = None  # text/caption as the customer sees it, markup removed
    message: dict = field(default_factory=dict, repr=False)  # the Message object returned to the bot


@dataclass
class Upload:
    """A multipart file part as received from the bot."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Chat:
    """A private chat between the bot and one customer."""

    user: dict[str, Any]
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # every message ever, deleted ones too (for the console)
    deleted: set[int] = field(default_factory=set)
    next_message_id: int = 1
    blocked: bool = False

    @property
    def id(self) -> int:
        return int(self.user["id"])


class ApiError(Exception):
    """A Bot API failure answered as {"ok": false, ...} with the same HTTP status."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class Fault:
    """A scripted failure for the next `remaining` calls of `method` ("*" = any message send)."""

    method: str
    remaining: int
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    drop: bool = False
    skip: int = 0  # let this many matching calls through first
    garbled: Any = None  # answer 200 "ok" with this as the result instead (a misbehaving proxy)

    def matches(self, method: str) -> bool:
        return method in SEND_METHODS if self.method == "*" else self.method.lower() == method.lower()
