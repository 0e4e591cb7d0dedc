"""What a spooled Slack input is, in words: its lane, its author and where they acted, and the notes they
get when it waits for the database or cannot be applied."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.core.text import quote

QUOTE_LIMIT = 39_000  # a message holds 40,000 characters; what is left is room for the note


def platform_id(body: dict[str, Any]) -> str:
    """Slack's own id for this input: the event id, or the interaction's trigger id."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    kind = body.get("type") or body.get("command") or "input"
    if body.get("trigger_id"):
        return f"{kind}:{body['trigger_id']}:{_action_ts(body)}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"{kind}:sha256:{digest}"


def _action_ts(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("action_ts") or body.get("action_ts") or "")


def where(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(author, channel, thread ts) of an input; channel "" when there is none (App Home, a modal)."""
    event = body.get("event")
    if isinstance(event, dict):
        message = event.get("message") or event.get("previous_message") or {}
        user = event.get("user") or message.get("user") or ""
        thread = event.get("thread_ts") or message.get("thread_ts") or event.get("ts")
        return str(user), str(event.get("channel") or ""), thread
    if "command" in body:
        return str(body.get("user_id") or ""), str(body.get("channel_id") or ""), None
    user = str((body.get("user") or {}).get("id") or "")
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    thread = (container.get("thread_ts") or message.get("thread_ts") or container.get("message_ts")
              or body.get("message_ts"))
    return user, str(channel), thread


def lane(body: dict[str, Any]) -> str:
    """Inputs of one lane are applied in the order they came: a thread's, else a person's."""
    user, channel, thread = where(body)
    if channel and thread and "command" not in body:
        return f"thread:{channel}:{thread}"
    return f"user:{user}"


def quiet(body: dict[str, Any]) -> bool:
    """Inputs nobody typed (the App Home tab opened): applied late or not at all without a word."""
    event = body.get("event")
    return isinstance(event, dict) and event.get("type") != "message"


def describe(body: dict[str, Any]) -> str:
    """What the person did, with their own words where there are any."""
    event = body.get("event")
    if isinstance(event, dict):
        message = event.get("message") or {}
        text = event.get("text") or message.get("text") or ""
        what = "edit" if event.get("subtype") == "message_changed" else "message"
        if event.get("subtype") == "message_deleted":
            return "deletion of a message"
        return f"{what}:\n{_quote(text)}" if text else what
    if "command" in body:
        typed = f"{body['command']} {body.get('text') or ''}".strip()
        return f"command:\n{_quote(typed)}"
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        label = (action.get("text") or {}).get("text") or action.get("action_id") or "a button"
        return f"press of the “{label}” button"
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        title = (view.get("title") or {}).get("text") or "a form"
        typed = [v.get("value") for block in ((view.get("state") or {}).get("values") or {}).values()
                 for v in block.values() if isinstance(v, dict) and v.get("value")]
        return f"“{title}” form" + (f", where you wrote:\n{_quote(chr(10).join(typed), raw=True)}" if typed else "")
    return "shortcut" if body.get("type") in ("message_action", "shortcut") else "action"


def saved_notice(body: dict[str, Any]) -> str:
    return (f"⏳ Baton's database is busy or unavailable right now. Your {_first_line(describe(body))} is saved "
            "and will be applied as soon as it is back; nothing to do on your side.")


def given_up(body: dict[str, Any], why: str) -> str:
    return (f"⚠️ Baton could not apply your {describe(body)}\n"
            f"Reason: {why}. Nothing of it took effect: please do it again.")


def _first_line(text: str) -> str:
    return text.split(":\n", 1)[0]


def _quote(text: str, *, raw: bool = False) -> str:
    """Messages and commands come from Slack already in its markup; a form's fields are raw text."""
    if raw:
        text = quote(text)
    if len(text) > QUOTE_LIMIT:
        text = text[:QUOTE_LIMIT] + f"… ({len(text) - QUOTE_LIMIT} more characters)"
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])
