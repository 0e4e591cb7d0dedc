"""Bot API method implementations of the fake Telegram server, keyed by case-insensitive method name."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.telegram_html import EntityParseError, parse_html, strip_formatted
from sandbox.telegram_params import Params
from sandbox.telegram_state import TelegramState
from sandbox.telegram_types import ApiError, Chat, SentMessage, bad_request

Handler = Callable[[TelegramState, Params, str], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}  # lower-case name -> (canonical name, handler)

MAX_TEXT, MAX_CAPTION = 4096, 1024
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]+")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class Described:
    """A successful result that also carries a top-level "description" (setWebhook does this)."""

    def __init__(self, result: Any, description: str) -> None:
        self.result, self.description = result, description


def api(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = (name, handler)
        return handler

    return register


# --- shared helpers -----------------------------------------------------------------------------
def require_chat(s: TelegramState, p: Params, *, sending: bool = True) -> Chat:
    chat_id = p.get("chat_id")
    if chat_id is None:
        raise bad_request("chat_id is empty")
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        chat_id = next((c.id for c in s.chats.values() if c.user.get("username") == chat_id[1:]), None)
    chat = s.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request("chat not found")
    if sending and chat.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def format_text(
    text: str, p: Params, entities_field: str, *, limit: int, too_long: str
) -> tuple[str, list[dict[str, Any]]]:
    """Apply entities/parse_mode like Telegram; returns the plain text and its entities."""
    explicit = p.list(entities_field)
    parse_mode = p.str("parse_mode")
    if explicit is not None:  # explicit entities win over parse_mode, as documented
        plain, entities = text, list(explicit)
    elif parse_mode is None:
        plain, entities = text, []
    elif parse_mode.lower() == "html":
        try:
            plain, entities = parse_html(text)
        except EntityParseError as err:
            raise bad_request(f"can't parse entities: {err}") from None
    elif parse_mode.lower() in ("markdown", "markdownv2"):
        # Markdown is accepted but not validated: only escapes are removed for plain_text.
        plain, entities = re.sub(r"\\(.)", r"\1", text), []
    else:
        raise bad_request("unsupported parse_mode")
    plain, entities = strip_formatted(plain, entities)
    if len(plain) > limit:
        raise bad_request(too_long)
    return plain, entities


def bot_message(s: TelegramState, chat: Chat, p: Params) -> dict[str, Any]:
    """A new outgoing Message skeleton, honouring reply parameters and inline keyboards."""
    reply = p.get("reply_parameters")
    reply = reply if isinstance(reply, dict) else {}
    reply_to = reply.get("message_id")
    reply_to = reply_to or p.int("reply_to_message_id")
    target = s.find_message(chat, int(reply_to)) if reply_to else None
    lenient = p.flag("allow_sending_without_reply") or reply.get("allow_sending_without_reply")
    if reply_to and target is None and not lenient:
        raise bad_request("message to be replied not found")
    message = s.new_message(chat, from_bot=True)
    if target is not None:
        message["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
    markup = p.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup  # only inline keyboards are echoed back in the Message
    return message


async def finish_send(
    s: TelegramState, method: str, chat: Chat, message: dict[str, Any], p: Params, raw: str | None
) -> dict[str, Any]:
    s.store_message(chat, message)
    plain = message.get("text", message.get("caption"))
    entities = message.get("entities", message.get("caption_entities"))
    record = SentMessage(
        chat_id=chat.id, message_id=message["message_id"], method=method, text=raw,
        parse_mode=p.str("parse_mode"), entities=entities, reply_markup=p.get("reply_markup"),
        at=time.monotonic(), params=p.raw, plain_text=plain, message=copy.deepcopy(message),
    )
    await s.record_sent(record)
    return copy.deepcopy(message)


def set_formatted(message: dict[str, Any], key: str, plain: str, entities: list[dict[str, Any]]) -> None:
    entities_key = "entities" if key == "text" else "caption_entities"
    message.pop(entities_key, None)
    message.pop(key, None)
    if plain:
        message[key] = plain
    if entities:
        message[entities_key] = entities


# --- methods ------------------------------------------------------------------------------------
@api("getMe")
async def get_me(s: TelegramState, p: Params, method: str) -> Any:
    return {
        **s.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
        "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False,
    }


@api("logOut", "close")
async def log_out(s: TelegramState, p: Params, method: str) -> Any:
    return True


@api("getUpdates")
async def get_updates(s: TelegramState, p: Params, method: str) -> Any:
    if s.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    limit = min(100, max(1, p.int("limit", 100) or 100))
    try:
        timeout = max(0.0, float(p.get("timeout", 0)))
    except (TypeError, ValueError):
        raise bad_request('field "timeout" must be of type Integer') from None
    allowed = p.list("allowed_updates")
    if allowed is not None:
        s.allowed_updates = allowed
    s.confirm_updates(p.int("offset", 0) or 0)
    async with s.updates_changed:
        s.poll_generation += 1  # a newer getUpdates terminates an older one still waiting
        generation = s.poll_generation
        s.updates_changed.notify_all()
        if not s.pending_updates and timeout:

            def woken() -> bool:
                stale = s.poll_generation != generation
                return stale or bool(s.pending_updates or s.webhook_url or s.closing)

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.updates_changed.wait_for(woken), timeout)
        if s.poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return copy.deepcopy(s.pending_updates[:limit])


@api("setWebhook")
async def set_webhook(s: TelegramState, p: Params, method: str) -> Any:
    url = p.raw.get("url")
    if url is None:
        raise bad_request('parameter "url" is required')
    if url == "":
        return await delete_webhook(s, p, "deleteWebhook")
    local = re.match(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url)
    if not (url.startswith("https://") or local):  # plain HTTP is allowed only to loopback (sandbox)
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.str("secret_token")
    if secret is not None and len(secret) > 256:
        raise bad_request("secret token is too long")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    if p.flag("drop_pending_updates"):
        s.pending_updates.clear()
    allowed = p.list("allowed_updates")
    if allowed is not None:
        s.allowed_updates = allowed
    unchanged = (s.webhook_url, s.webhook_secret) == (url, secret)
    s.webhook_url, s.webhook_secret = url, secret
    s.webhook_max_connections = p.int("max_connections", 40) or 40
    s.last_webhook_error = None
    async with s.updates_changed:
        s.updates_changed.notify_all()  # a waiting long poll must return now
    s.on_webhook_set()
    return Described(True, "Webhook is already set" if unchanged else "Webhook was set")


@api("deleteWebhook")
async def delete_webhook(s: TelegramState, p: Params, method: str) -> Any:
    was_set = s.webhook_url is not None
    s.webhook_url = s.webhook_secret = None
    if p.flag("drop_pending_updates"):
        s.pending_updates.clear()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@api("getWebhookInfo")
async def get_webhook_info(s: TelegramState, p: Params, method: str) -> Any:
    info: dict[str, Any] = {
        "url": s.webhook_url or "", "has_custom_certificate": False,
        "pending_update_count": len(s.pending_updates),
    }
    if s.webhook_url:
        info.update(ip_address="127.0.0.1", max_connections=s.webhook_max_connections)
    if s.last_webhook_error:
        info.update(last_error_date=s.last_webhook_error[0], last_error_message=s.last_webhook_error[1])
    if s.allowed_updates:
        info["allowed_updates"] = s.allowed_updates
    return info


@api("sendMessage")
async def send_message(s: TelegramState, p: Params, method: str) -> Any:
    chat = require_chat(s, p)
    text = p.str("text")
    if not text:
        raise bad_request("message text is empty")
    plain, entities = format_text(text, p, "entities", limit=MAX_TEXT, too_long="message is too long")
    if not plain:
        raise bad_request("message text is empty")
    s.check_flood(chat.id)
    message = bot_message(s, chat, p)
    set_formatted(message, "text", plain, entities)
    return await finish_send(s, method, chat, message, p, text)


@api("sendChatAction")
async def send_chat_action(s: TelegramState, p: Params, method: str) -> Any:
    chat = require_chat(s, p)
    action = p.str("action")
    if action is None:
        raise bad_request('parameter "action" is required')
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    await s.record_chat_action(chat.id, action)
    return True


def _editable(s: TelegramState, p: Params) -> tuple[Chat, dict[str, Any]]:
    if p.get("inline_message_id") is not None:
        raise bad_request("message to edit not found")  # the sandbox has no inline messages
    chat = require_chat(s, p)
    message = s.find_message(chat, p.message_id())
    if message is None:
        raise bad_request("message to edit not found")
    if not message["from"]["is_bot"] or s.too_old_to_change(message):
        raise bad_request("message can't be edited")
    return chat, message


@api("editMessageText", "editMessageCaption", "editMessageReplyMarkup")
async def edit_message(s: TelegramState, p: Params, method: str) -> Any:
    chat, message = _editable(s, p)
    updated = copy.deepcopy(message)
    raw = None
    if method == "editMessageText":
        raw = p.str("text")
        if not raw:
            raise bad_request("message text is empty")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        plain, entities = format_text(raw, p, "entities", limit=MAX_TEXT, too_long="message is too long")
        set_formatted(updated, "text", plain, entities)
    elif method == "editMessageCaption":
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        raw = p.str("caption") or ""
        plain, entities = format_text(
            raw, p, "caption_entities", limit=MAX_CAPTION, too_long="message caption is too long"
        )
        set_formatted(updated, "caption", plain, entities)
    markup = p.get("reply_markup")
    updated.pop("reply_markup", None)
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        updated["reply_markup"] = markup
    if updated == message:
        raise bad_request(NOT_MODIFIED)
    updated["edit_date"] = s.now()
    chat.messages[message["message_id"]] = updated
    await s.record_edit(
        SentMessage(
            chat_id=chat.id, message_id=message["message_id"], method=method, text=raw,
            parse_mode=p.str("parse_mode"), entities=updated.get("entities", updated.get("caption_entities")),
            reply_markup=markup, at=time.monotonic(), params=p.raw,
            plain_text=updated.get("text", updated.get("caption")), message=copy.deepcopy(updated),
        )
    )
    return copy.deepcopy(updated)


@api("deleteMessage")
async def delete_message(s: TelegramState, p: Params, method: str) -> Any:
    chat = require_chat(s, p, sending=False)
    message_id = p.message_id()
    if s.find_message(chat, message_id) is None:
        raise bad_request("message to delete not found")
    if s.too_old_to_change(s.find_message(chat, message_id) or {}):
        raise bad_request("message can't be deleted for everyone")
    chat.deleted.add(message_id)
    await s.record_deletion(chat.id, message_id)
    return True


def _commands_key(p: Params) -> str:
    scope = p.get("scope") or {"type": "default"}
    parts = (scope.get("type"), scope.get("chat_id", ""), scope.get("user_id", ""), p.str("language_code"))
    return ":".join(str(part or "") for part in parts)


@api("setMyCommands")
async def set_my_commands(s: TelegramState, p: Params, method: str) -> Any:
    commands = p.list("commands")
    if commands is None:
        raise bad_request('parameter "commands" is required')
    for command in commands:
        if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    s.commands[_commands_key(p)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


@api("getMyCommands")
async def get_my_commands(s: TelegramState, p: Params, method: str) -> Any:
    return copy.deepcopy(s.commands.get(_commands_key(p), []))


@api("deleteMyCommands")
async def delete_my_commands(s: TelegramState, p: Params, method: str) -> Any:
    s.commands.pop(_commands_key(p), None)
    return True


@api("answerCallbackQuery")
async def answer_callback_query(s: TelegramState, p: Params, method: str) -> Any:
    p.require("callback_query_id")
    await s.record_callback_answer(dict(p.raw))
    return True
