"""Self-contained HTML page for the local demo: every customer chat, both directions, and send forms."""

from __future__ import annotations

from html import escape
from typing import Any

_MEDIA_KEYS = ("photo", "document", "voice", "video", "video_note", "audio", "sticker", "animation",
               "location", "contact")

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f4f6f8;color:#222}
h1{font-size:1.3rem}.chat{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem;
box-shadow:0 1px 3px #0002;max-width:46rem}.msg{margin:.3rem 0;padding:.4rem .6rem;border-radius:6px;
white-space:pre-wrap;max-width:80%}.in{background:#e9eef3}.out{background:#d8f5d0;margin-left:auto}
.meta{font-size:.75rem;color:#666}.deleted{text-decoration:line-through;opacity:.6}
form{display:flex;gap:.4rem;margin-top:.6rem}input[name=text]{flex:1}.blocked{color:#b00}
"""

# Reload every 2 s so bot replies show up, but never while the operator is typing into a form.
_SCRIPT = """
setInterval(function () {
  var typing = Array.prototype.some.call(document.querySelectorAll("input"), function (i) {
    return i.type !== "hidden" && (i === document.activeElement || i.value);
  });
  if (!typing) { location.reload(); }
}, 2000);
"""


def describe(message: dict[str, Any]) -> str:
    """One-line human summary of a Message (text, or [kind] plus caption)."""
    if "text" in message:
        return str(message["text"])
    kind = next((k for k in _MEDIA_KEYS if k in message), "message")
    caption = message.get("caption")
    return f"[{kind}] {caption}" if caption else f"[{kind}]"


def _render_message(message: dict[str, Any]) -> str:
    classes = ["msg", message["direction"]] + (["deleted"] if message["deleted"] else [])
    who = "bot" if message["direction"] == "out" else message["from"].get("first_name", "customer")
    notes = " · edited" if "edit_date" in message else ""
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    buttons = " ".join(f"[{b.get('text', '')}]" for row in keyboard for b in row)
    return (
        f'<div class="{" ".join(classes)}"><div class="meta">#{message["message_id"]} {escape(who)}'
        f"{notes}</div>{escape(describe(message))}"
        + (f'<div class="meta">{escape(buttons)}</div>' if buttons else "")
        + "</div>"
    )


def _render_chat(chat: dict[str, Any]) -> str:
    user = chat["user"]
    name = " ".join(filter(None, [user.get("first_name"), user.get("last_name")]))
    handle = f" @{user['username']}" if user.get("username") else ""
    blocked = ' <span class="blocked">(bot blocked)</span>' if chat["blocked"] else ""
    messages = "".join(_render_message(m) for m in chat["messages"]) or '<p class="meta">No messages yet.</p>'
    return (
        f'<section class="chat"><h2>{escape(name)}{escape(handle)} '
        f'<span class="meta">id {escape(str(user["id"]))}</span>{blocked}</h2>{messages}'
        f'<form method="post" action="/_sandbox/send">'
        f'<input type="hidden" name="user_id" value="{escape(str(user["id"]))}">'
        f'<input type="hidden" name="first_name" value="{escape(str(user.get("first_name", "")))}">'
        f'<input name="text" placeholder="Write as {escape(name)}…" required>'
        f"<button>Send</button></form></section>"
    )


def render_console(chats: list[dict[str, Any]], bot: dict[str, Any]) -> str:
    """The whole page; every interpolated value is HTML-escaped."""
    new_customer = (
        '<section class="chat"><h2>New customer</h2><form method="post" action="/_sandbox/send">'
        '<input name="user_id" placeholder="user id (optional)" size="14">'
        '<input name="first_name" placeholder="first name" required size="12">'
        '<input name="text" placeholder="First message, e.g. /start" required>'
        "<button>Send</button></form></section>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Telegram sandbox · @{escape(str(bot.get('username', '')))}</title>"
        f'<style>{_STYLE}</style><noscript><meta http-equiv="refresh" content="2"></noscript></head>'
        f"<body><h1>Telegram sandbox · bot @{escape(str(bot.get('username', '')))}</h1>"
        + "".join(_render_chat(chat) for chat in chats)
        + new_customer
        + f"<script>{_SCRIPT}</script></body></html>"
    )
