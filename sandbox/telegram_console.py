"""The Telegram sandbox page: the customers' chats as a Telegram client shows them.

Formatting comes from the messages' entities (the same ones the Bot API returns), inline keyboards are
buttons that press like a customer's thumb, media shows as pictures, files, voice notes and places.
sandbox/static/telegram.js keeps the page live and sends the customer's actions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

_MEDIA_KEYS = ("photo", "document", "voice", "video", "video_note", "audio", "sticker", "animation",
               "location", "contact")
_TAGS = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "code": "code", "pre": "pre",
         "blockquote": "blockquote", "expandable_blockquote": "blockquote"}
LANGUAGES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français", "it": "Italiano",
             "ru": "Русский", "pt": "Português", "uk": "Українська"}


def describe(message: dict[str, Any]) -> str:
    """One-line human summary of a Message (text, or [kind] plus caption)."""
    if "text" in message:
        return str(message["text"])
    kind = next((k for k in _MEDIA_KEYS if k in message), "message")
    caption = message.get("caption")
    return f"[{kind}] {caption}" if caption else f"[{kind}]"


def _utf16_index(text: str) -> list[int]:
    """For every UTF-16 offset Telegram may name, the index into the Python string."""
    index = []
    for i, char in enumerate(text):
        index.extend([i] * (2 if ord(char) > 0xFFFF else 1))
    index.append(len(text))
    return index


def _open_tag(entity: dict[str, Any], text: str) -> tuple[str, str]:
    kind = entity.get("type", "")
    if kind in _TAGS:
        tag = _TAGS[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "text_link":
        return f'<a href="{escape(str(entity.get("url", "")))}" target="_blank" rel="noopener">', "</a>"
    if kind == "url":
        url = text if "://" in text else f"http://{text}"
        return f'<a href="{escape(url)}" target="_blank" rel="noopener">', "</a>"
    if kind == "email":
        return f'<a href="mailto:{escape(text)}">', "</a>"
    if kind == "spoiler":
        return '<span class="spoiler" title="Spoiler">', "</span>"
    if kind in ("mention", "hashtag", "bot_command", "cashtag", "phone_number"):
        return f'<span class="{kind}">', "</span>"
    return "", ""


def formatted(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Text plus entities (UTF-16 offsets, properly nested as Telegram sends them) as HTML."""
    if not entities:
        return escape(text)
    index = _utf16_index(text)
    opens: dict[int, list[tuple[int, str, str]]] = {}
    for entity in entities:
        start = min(max(0, int(entity.get("offset", 0))), len(index) - 1)
        end = min(start + max(0, int(entity.get("length", 0))), len(index) - 1)
        a, b = index[start], index[end]
        open_html, close_html = _open_tag(entity, text[a:b])
        opens.setdefault(a, []).append((b, open_html, close_html))
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    for i in range(len(text) + 1):
        while stack and stack[-1][0] <= i:
            out.append(stack.pop()[1])
        for end, open_html, close_html in sorted(opens.get(i, []), key=lambda e: -e[0]):
            out.append(open_html)
            stack.append((end, close_html))
        if i < len(text):
            out.append(escape(text[i]))
    return "".join(out)


def _time(epoch: int) -> str:
    fallback = datetime.fromtimestamp(epoch, UTC).strftime("%H:%M")
    return f'<time class="local-time" data-epoch="{epoch}">{fallback}</time>'


def _media(message: dict[str, Any]) -> str:
    def src(obj: dict[str, Any]) -> str:
        return f"/_sandbox/files/{quote(str(obj.get('file_id', '')))}"

    if "photo" in message:
        big = src(message["photo"][-1])
        return f'<a href="{big}" target="_blank"><img class="photo" src="{big}" alt="Photo"></a>'
    if "sticker" in message:
        return f'<div class="sticker">{escape(str(message["sticker"].get("emoji", "🖼")))}</div>'
    if "voice" in message:
        voice = message["voice"]
        return (f'<div class="voice">🎤 Voice message · 0:{int(voice.get("duration", 0)):02d}'
                f'<audio controls preload="none" src="{src(voice)}"></audio></div>')
    if "location" in message:
        loc = message["location"]
        lat, lon = loc.get("latitude"), loc.get("longitude")
        link = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
        title = escape(str(message.get("venue", {}).get("title", "Location")))
        return f'<a class="place" href="{escape(link)}" target="_blank" rel="noopener">📍 {title} · {lat}, {lon}</a>'
    if "contact" in message:
        c = message["contact"]
        who = f'{c.get("first_name", "")} · {c.get("phone_number", "")}'
        return f'<div class="file">👤 {escape(who)}</div>'
    icons = (("video", "🎬"), ("animation", "🎞"), ("video_note", "⏺"), ("audio", "🎵"), ("document", "📄"))
    for kind, icon in icons:
        if kind in message:
            obj = message[kind]
            name = escape(str(obj.get("file_name") or kind.replace("_", " ").title()))
            size = int(obj.get("file_size") or 0)
            return (f'<a class="file" href="{src(obj)}" download="{name}">{icon} <span>{name}</span>'
                    f'<small>{size / 1024:.1f} KB</small></a>')
    return ""


def _keyboard(message: dict[str, Any]) -> str:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    out = []
    for row in rows:
        cells = []
        for button in row:
            label = escape(str(button.get("text", "")))
            if button.get("url"):
                cells.append(f'<a class="kb-btn" href="{escape(str(button["url"]))}" target="_blank" rel="noopener">'
                             f"{label} ↗</a>")
            elif "callback_data" in button:
                cells.append(f'<button type="button" class="kb-btn" data-press="{escape(str(button["callback_data"]))}"'
                             f">{label}</button>")
            else:
                cells.append(f'<span class="kb-btn">{label}</span>')
        out.append(f'<div class="kb-row">{"".join(cells)}</div>')
    return f'<div class="keyboard">{"".join(out)}</div>' if out else ""


def render_message(message: dict[str, Any]) -> str:
    side = "out" if message["direction"] == "out" else "in"
    classes = f"msg {side}" + (" deleted" if message.get("deleted") else "")
    if "text" in message:
        body = f'<div class="text">{formatted(message["text"], message.get("entities"))}</div>'
    else:
        caption = message.get("caption")
        body = _media(message) + (f'<div class="text">{formatted(caption, message.get("caption_entities"))}</div>'
                                  if caption else "")
    meta = ("edited " if "edit_date" in message else "") + _time(int(message.get("date", 0)))
    return (f'<div class="{classes}" data-message-id="{message["message_id"]}"><div class="bubble">{body}'
            f'<span class="meta">{meta}</span></div>{_keyboard(message)}</div>')


def _name(user: dict[str, Any]) -> str:
    return " ".join(filter(None, [user.get("first_name"), user.get("last_name")]))


def render_chat_list(chats: list[dict[str, Any]], selected: int | None) -> str:
    items = []
    for chat in chats:
        user = chat["user"]
        last = describe(chat["messages"][-1]) if chat["messages"] else "No messages yet"
        handle = f"@{user['username']}" if user.get("username") else "no username"
        lang = LANGUAGES.get(str(user.get("language_code", "")), str(user.get("language_code", "")))
        active = " active" if user["id"] == selected else ""
        items.append(
            f'<a class="chat-item{active}" href="/?chat={user["id"]}" data-chat="{user["id"]}">'
            f'<span class="avatar">{escape(_name(user)[:1].upper() or "?")}</span><span class="who">'
            f'<strong>{escape(_name(user))}</strong><small>{escape(handle)} · {escape(lang)}</small>'
            f'<small class="preview">{escape(last[:60])}</small></span></a>')
    return "".join(items) or '<p class="empty">No customers yet.</p>'


def render_chat(chat: dict[str, Any] | None, typing: bool) -> str:
    if chat is None:
        return '<p class="empty">Choose a customer on the left, or add a new one.</p>'
    user = chat["user"]
    handle = f"@{user['username']}" if user.get("username") else ""
    status = '<span class="typing">typing…</span>' if typing else '<span class="status">bot</span>'
    blocked = '<div class="blocked">You blocked this bot. Writing to it unblocks it.</div>' if chat["blocked"] else ""
    messages = "".join(render_message(m) for m in chat["messages"]) or '<p class="empty">Say hello to the bot.</p>'
    return (f'<div class="chat-head" data-chat="{user["id"]}"><strong>{escape(_name(user))}</strong> '
            f'<small>{escape(handle)} · id {user["id"]} · {escape(str(user.get("language_code", "")))}</small>'
            f" {status}</div>{blocked}<div class=\"messages\">{messages}</div>")


def render_console(chats: list[dict[str, Any]], bot: dict[str, Any], selected: int | None = None,
                   typing: bool = False) -> str:
    """The whole page; every interpolated value is HTML-escaped."""
    chat = next((c for c in chats if c["user"]["id"] == selected), None)
    languages = "".join(f'<option value="{code}">{name}</option>' for code, name in LANGUAGES.items())
    config = json.dumps({"chat": selected}).replace("</", "<\\/")
    bot_name = escape(str(bot.get("username", "")))
    composer = "" if chat is None else (
        '<form id="composer" class="composer"><details class="attach"><summary aria-label="Attach">📎</summary>'
        '<div class="attach-menu"><label>🖼 Photo<input type="file" accept="image/*" data-kind="photo"></label>'
        '<label>📄 Document<input type="file" data-kind="document"></label>'
        '<button type="button" data-kind="voice">🎤 Voice message</button>'
        '<button type="button" data-kind="location">📍 Location</button></div></details>'
        '<input name="text" autocomplete="off" placeholder="Message" aria-label="Message">'
        '<button class="send" aria-label="Send">➤</button></form>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
        f'<title>Telegram sandbox · @{bot_name}</title><link rel="stylesheet" href="/_sandbox/static/telegram.css">'
        f'</head><body class="{"has-chat" if chat else ""}"><div class="app"><aside class="sidebar">'
        f'<div class="side-head">Telegram sandbox · bot @{bot_name}</div><div id="chat-list">'
        f'{render_chat_list(chats, selected)}</div><details class="new-customer"><summary>+ New customer</summary>'
        '<form id="new-customer"><input name="first_name" placeholder="First name" required aria-label="First name">'
        '<input name="last_name" placeholder="Last name" aria-label="Last name">'
        '<input name="username" placeholder="username (without @)" aria-label="Username">'
        f'<select name="language_code" aria-label="Language">{languages}</select>'
        '<input name="text" placeholder="First message, e.g. /start" required aria-label="First message">'
        '<button>Start chat</button></form></details></aside><main class="chat">'
        f'<a class="back" href="/">‹ Chats</a><div id="chat">{render_chat(chat, typing)}</div>{composer}</main></div>'
        f'<div id="toast" role="status" hidden></div><script id="config" type="application/json">{config}</script>'
        '<script src="/_sandbox/static/telegram.js"></script></body></html>')
