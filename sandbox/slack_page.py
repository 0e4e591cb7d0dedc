"""The Slack sandbox page as one viewer sees it: channel, thread panel, App Home, modal, ephemerals.

Pure rendering from the workspace's data; sandbox/static/slack.js keeps it live and sends actions.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sandbox.slack_blocks import BlockRenderer
from sandbox.slack_mrkdwn import Mrkdwn, date_fallback, emoji_for
from sandbox.slack_state import PERMALINK_HOST, Ephemeral, SlackWorkspace

_IMAGE_TYPES = ("png", "jpg", "jpeg", "gif", "webp")
_AUDIO_TYPES = ("ogg", "oga", "mp3", "m4a", "wav", "opus")


def _time(ts: str, fmt: str = "{time}") -> str:
    epoch = int(float(ts))
    return f'<time class="slack-date" data-epoch="{epoch}" data-format="{fmt}">{date_fallback(epoch)}</time>'


class SlackPage:
    def __init__(self, ws: SlackWorkspace, viewer: str, channel: str, thread_ts: str | None,
                 manifest: dict[str, Any]) -> None:
        self.ws, self.viewer, self.channel, self.thread_ts = ws, viewer, channel, thread_ts
        self.manifest = manifest
        self.md = Mrkdwn(self.user_name, self.channel_name,
                         lambda gid: ws.usergroups.get(gid, {}).get("handle", gid), self.local_link)
        self.blocks = BlockRenderer(self.md)

    def user_name(self, user_id: str) -> str:
        user = self.ws.users.get(user_id)
        return str(user.get("real_name") or user["name"]) if user else user_id

    def local_link(self, url: str) -> str | None:
        """A workspace permalink as this page's address for that thread."""
        parts = urlsplit(url)
        found = re.fullmatch(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})", parts.path)
        if not url.startswith(PERMALINK_HOST) or not found:
            return None
        thread = parse_qs(parts.query).get("thread_ts", [f"{found[2]}.{found[3]}"])[0]
        return f"/?as={quote(self.viewer)}&channel={quote(found[1])}&thread={quote(thread)}"

    def channel_name(self, channel_id: str) -> str:
        return str(self.ws.channels.get(channel_id, {}).get("name", channel_id))

    # --- pieces of one message ------------------------------------------------------------------

    def _author(self, msg: dict) -> tuple[str, str]:
        """(name HTML, avatar HTML): apps show their name with an APP badge, as Slack does."""
        if msg.get("bot_id") or msg.get("subtype") == "bot_message":
            name = escape(str(msg.get("username") or self.ws.bot_name))
            icon = emoji_for(str((msg.get("icons") or {}).get("emoji", "")).strip(":")) or "🤖"
            return f'{name} <span class="app-badge">APP</span>', f'<span class="avatar emoji">{icon}</span>'
        name = self.user_name(str(msg.get("user", "")))
        initials = "".join(part[:1] for part in name.split()[:2]).upper() or "?"
        colour = sum(map(ord, name)) % 6
        return escape(name), f'<span class="avatar c{colour}">{escape(initials)}</span>'

    def _body(self, msg: dict) -> str:
        if msg.get("subtype") == "tombstone":
            return '<div class="tombstone">This message was deleted.</div>'
        blocks = msg.get("blocks") or []
        if msg.get("text") and all(b.get("type") == "rich_text" for b in blocks):
            blocks = []  # a person's message: its text is the mrkdwn Slack formats (the sandbox keeps it raw)
        body = self.blocks.blocks(blocks) if blocks else ""
        if not body and msg.get("text"):
            body = f'<div class="sk-text">{self.md.to_html(str(msg["text"]))}</div>'
        for att in msg.get("attachments") or []:
            colour = str(att.get("color", "ddd")).lstrip("#")
            colour = colour if re.fullmatch(r"[0-9a-fA-F]{3,8}", colour) else "ddd"
            inner = "".join(f'<div class="sk-text">{self.md.to_html(str(att[k]))}</div>'
                            for k in ("pretext", "title", "text") if att.get(k))
            inner += self.blocks.blocks(att.get("blocks"))
            body += f'<div class="sk-attachment" style="border-color:#{colour}">{inner}</div>'
        return body

    def _files(self, msg: dict) -> str:
        out = []
        for f in msg.get("files") or []:
            src = f"/_sandbox/files/{escape(str(f.get('id', '')))}"
            name = escape(str(f.get("name") or f.get("title") or "file"))
            kind = str(f.get("filetype") or str(f.get("name", "")).rpartition(".")[2]).lower()
            if kind in _IMAGE_TYPES or str(f.get("mimetype", "")).startswith("image/"):
                out.append(f'<a class="file-image" href="{src}" target="_blank"><img src="{src}" alt="{name}"></a>')
            elif kind in _AUDIO_TYPES or str(f.get("mimetype", "")).startswith("audio/"):
                player = f'<audio controls preload="none" src="{src}"></audio>'
                out.append(f'<div class="file-audio">🎵 {name}{player}</div>')
            else:
                out.append(f'<a class="file-chip" href="{src}" download="{name}">📄 {name}</a>')
        return "".join(out)

    def _reactions(self, msg: dict) -> str:
        chips = []
        for r in msg.get("reactions") or []:
            who = ", ".join(self.user_name(u) for u in r.get("users") or [])
            char = emoji_for(str(r.get("name", ""))) or f":{r.get('name', '')}:"
            chips.append(f'<span class="reaction" title="{escape(who)} reacted with :{escape(str(r["name"]))}:"'
                         f' data-reaction="{escape(str(r["name"]))}">{escape(char)} {int(r.get("count", 1))}</span>')
        return f'<div class="reactions">{"".join(chips)}</div>' if chips else ""

    def _menu(self, msg: dict) -> str:
        """Slack's message actions: your own message can be edited or deleted; the app's shortcuts."""
        items = ""
        if msg.get("user") == self.viewer and not msg.get("bot_id") and msg.get("subtype") != "tombstone":
            items = (f'<button type="button" data-edit data-text="{escape(str(msg.get("text", "")))}">'
                     'Edit message</button><button type="button" data-delete>Delete message…</button>')
        shortcuts = [s for s in (self.manifest.get("features") or {}).get("shortcuts") or []
                     if s.get("type") == "message"]
        items += "".join(f'<button type="button" data-shortcut="{escape(str(s["callback_id"]))}">'
                         f'{escape(str(s["name"]))}<small>{escape(self.ws.bot_name.title())}</small></button>'
                         for s in shortcuts)
        items = items or '<span class="empty">No message shortcuts installed</span>'
        return (f'<div class="msg-tools"><button type="button" class="menu-btn" aria-label="More actions" '
                f'title="More actions">⋮</button><div class="msg-menu" hidden>{items}</div></div>')

    def message(self, msg: dict, *, with_summary: bool) -> str:
        name, avatar = self._author(msg)
        # Slack marks people's edits; an app updating its own message (the card) is not marked.
        edited = ' <span class="edited">(edited)</span>' if msg.get("edited") and not msg.get("bot_id") else ""
        summary = ""
        if with_summary and (msg.get("reply_count") or self._thread_ephemerals(msg["ts"])):
            count = int(msg.get("reply_count") or 0)
            private = len(self._thread_ephemerals(msg["ts"]))
            extra = f' · {private} only visible to you' if private else ""
            ts = escape(msg["ts"])
            summary = (f'<div><a class="thread-link" href="{self._href(thread=msg["ts"])}" data-thread="{ts}">'
                       f'{count} {"reply" if count == 1 else "replies"}{extra}</a></div>')
        return (f'<div class="msg" data-channel="{escape(self.channel)}" data-ts="{escape(msg["ts"])}">'
                f'{avatar}<div class="msg-content"><div class="msg-head"><span class="author">{name}</span> '
                f'<span class="ts">{_time(msg["ts"])}</span></div>{self._body(msg)}{edited}{self._files(msg)}'
                f'{self._reactions(msg)}{summary}</div>{self._menu(msg)}</div>')

    def ephemeral(self, index: int, eph: Ephemeral) -> str:
        body = (self.blocks.blocks(eph.blocks) if eph.blocks
                else f'<div class="sk-text">{self.md.to_html(eph.text)}</div>')
        return (f'<div class="msg ephemeral" data-ephemeral="{index}"><span class="avatar emoji">🤖</span>'
                f'<div class="msg-content"><div class="msg-head"><span class="author">{escape(self.ws.bot_name)} '
                f'<span class="app-badge">APP</span></span> <span class="ts">{_time(eph.message_ts)}</span></div>'
                f'<div class="only-you">👁 Only visible to you</div>{body}</div></div>')

    # --- views --------------------------------------------------------------------------------

    def _viewer_ephemerals(self) -> list[tuple[int, Ephemeral]]:
        return [(i, e) for i, e in enumerate(self.ws.ephemerals)
                if e.user == self.viewer and not e.deleted and e.channel == self.channel]

    def _thread_ephemerals(self, thread_ts: str) -> list[tuple[int, Ephemeral]]:
        return [(i, e) for i, e in self._viewer_ephemerals() if e.thread_ts == thread_ts]

    def _href(self, **changes: str | None) -> str:
        params = {"as": self.viewer, "channel": self.channel, "thread": self.thread_ts} | changes
        return "/?" + "&amp;".join(f"{k}={escape(v)}" for k, v in params.items() if v)

    def channel_view(self) -> str:
        items: list[tuple[float, str]] = [(float(m["ts"]), self.message(m, with_summary=True))
                                          for m in self.ws.messages(self.channel)]
        items += [(float(e.message_ts), self.ephemeral(i, e)) for i, e in self._viewer_ephemerals()
                  if not e.thread_ts or self.ws.find(self.channel, e.thread_ts) is None]
        items.sort(key=lambda item: item[0])
        return "".join(html for _, html in items) or '<p class="empty">No messages yet.</p>'

    def thread_view(self) -> str:
        if not self.thread_ts or self.ws.find(self.channel, self.thread_ts) is None:
            return ""
        root = self.message(self.ws.message(self.channel, self.thread_ts), with_summary=False)
        items = [(float(m["ts"]), self.message(m, with_summary=False))
                 for m in self.ws.thread(self.channel, self.thread_ts)]
        items += [(float(e.message_ts), self.ephemeral(i, e)) for i, e in self._thread_ephemerals(self.thread_ts)]
        items.sort(key=lambda item: item[0])
        count = len(self.ws.thread(self.channel, self.thread_ts))
        divider = f'<div class="reply-count">{count} {"reply" if count == 1 else "replies"}</div>'
        return root + divider + "".join(html for _, html in items)

    def home_view(self) -> str:
        view = self.ws.home_views.get(self.viewer)
        if view is None:
            return '<p class="empty">Opening the App Home…</p>'
        blocks = self.blocks.blocks(view["blocks"])
        return f'<div class="home" data-view-id="{escape(str(view["id"]))}">{blocks}</div>'

    def modal(self) -> tuple[str, str]:
        """(view id, HTML) of the modal open for the viewer, or ("", "")."""
        opened = getattr(self.ws, "modals", {}).get(self.viewer)
        if not opened:
            return "", ""
        view = opened["view"]
        close = self.blocks.plain(view.get("close")) or "Cancel"
        submit = self.blocks.plain(view.get("submit"))
        button = f'<button class="sk-btn primary" type="submit">{submit}</button>' if submit else ""
        errors = opened.get("errors") or {}
        return str(view["id"]), (
            f'<div class="modal-backdrop"><form class="modal" data-view-id="{escape(str(view["id"]))}" '
            f'enctype="multipart/form-data" role="dialog" aria-label="{self.blocks.plain(view.get("title"))}">'
            f'<h2>{self.blocks.plain(view.get("title"))}</h2><div class="modal-body">'
            f'{self.blocks.blocks(view.get("blocks"), errors)}</div><div class="modal-foot">'
            f'<button class="sk-btn" type="button" data-close-modal>{close}</button>{button}</div></form></div>')

    def fragments(self, tab: str) -> dict[str, str]:
        view_id, modal = self.modal()
        main = self.home_view() if tab == "home" else self.channel_view()
        return {"main": main, "thread": self.thread_view() if tab != "home" else "", "modal": modal,
                "modal_id": view_id}

    # --- the whole page -----------------------------------------------------------------------

    def _user_options(self) -> str:
        out = []
        for uid, user in self.ws.users.items():
            if user.get("is_bot"):
                continue
            title = (user.get("profile") or {}).get("title")
            label = f"{self.user_name(uid)} ({title})" if title else self.user_name(uid)
            selected = " selected" if uid == self.viewer else ""
            out.append(f'<option value="{escape(uid)}"{selected}>{escape(label)}</option>')
        return "".join(out)

    def page(self, tab: str) -> str:
        parts = self.fragments(tab)
        channels = "".join(
            f'<a class="{"active" if cid == self.channel and tab != "home" else ""}" '
            f'href="{self._href(channel=cid, thread=None)}"># {escape(ch["name"])}</a>'
            for cid, ch in self.ws.channels.items() if not ch.get("is_im"))
        home = (f'<a class="{"active" if tab == "home" else ""}" href="{self._href(tab="home", thread=None)}">'
                f'🤖 {escape(self.ws.bot_name.title())} · Home</a>')
        commands = [{"command": c.get("command"), "hint": c.get("usage_hint", ""),
                     "description": c.get("description", "")}
                    for c in (self.manifest.get("features") or {}).get("slash_commands") or []]
        config = json.dumps({"viewer": self.viewer, "channel": self.channel, "thread": self.thread_ts, "tab": tab,
                             "commands": commands}).replace("</", "<\\/")
        thread_hidden = "" if parts["thread"] else " hidden"
        composer = "" if tab == "home" else (
            f'<form class="composer" id="channel-composer"><div class="hints" hidden></div>'
            f'<input name="text" autocomplete="off" placeholder="Message #{escape(self.channel_name(self.channel))}'
            f' (or a /command)" aria-label="Message the channel"><button class="sk-btn primary">Send</button></form>')
        title = "Baton · Home" if tab == "home" else f"# {escape(self.channel_name(self.channel))}"
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<title>Slack sandbox</title><link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/_sandbox/static/slack.css"></head>'
            f'<body data-tab="{tab}"><header class="topbar"><button type="button" class="nav-toggle" '
            'aria-label="Channels">☰</button><strong>Baton sandbox workspace</strong>'
            f'<label class="switcher">You are <select id="as" aria-label="Current user">{self._user_options()}'
            '</select></label></header><div class="layout"><nav class="sidebar">'
            f'<div class="side-title">Channels</div>{channels}<div class="side-title">Apps</div>{home}</nav>'
            f'<main class="pane"><div class="pane-title">{title}</div>'
            f'<div id="main" class="scroll">{parts["main"]}</div>{composer}</main>'
            f'<aside class="pane thread"{thread_hidden}><div class="pane-title">Thread <a class="close-thread" '
            f'href="{self._href(thread=None)}" aria-label="Close thread">✕</a></div><div id="thread" class="scroll">'
            f'{parts["thread"]}</div><form class="composer" id="thread-composer"><label class="attach-file" '
            'title="Share a file">📎<input type="file" name="file" aria-label="Share a file"></label>'
            '<input name="text" autocomplete="off" '
            'placeholder="Reply…" aria-label="Reply in thread"><button class="sk-btn primary">Send</button></form>'
            f'</aside></div><div id="modal-root" data-view-id="{escape(parts["modal_id"])}">{parts["modal"]}</div>'
            f'<div id="toast" role="status" hidden></div><script id="config" type="application/json">{config}</script>'
            '<script src="/_sandbox/static/slack.js"></script></body></html>')
