"""Human control surface for the local demo: an auto-refreshing HTML view plus form actions."""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Any

from aiohttp import web

from sandbox.slack_actors import HumanActionsMixin

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#1d1c1d}
h2{border-bottom:1px solid #ddd;margin-top:1.5em}
.msg{border-left:3px solid #ccc;padding:.3em .6em;margin:.4em 0}
.bot{border-color:#2eb67d} .reply{margin-left:2.5em} .who{font-weight:600} .ts{color:#888;font-size:11px}
.ctx{color:#616061;font-size:12px} .eph{border-color:#ecb22e;background:#fffbea} form{display:inline}
.btn{margin:.15em;padding:.1em .6em} .meta{color:#888;font-size:11px;font-family:monospace}
.actions{margin:.5em 0;padding:.5em;background:#f8f8f8}
"""

# Reload every 2 s, but not while someone is typing or choosing (a plain meta refresh would eat input).
_REFRESH = (
    "<noscript><meta http-equiv='refresh' content='2'></noscript><script>setInterval(function(){"
    "var a=document.activeElement,busy=a&&/INPUT|SELECT|TEXTAREA/.test(a.tagName);"
    "document.querySelectorAll('input[name=text]').forEach(function(i){if(i.value)busy=true});"
    "if(!busy)location.reload()},2000)</script>"
)


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


class SandboxUiMixin(HumanActionsMixin):
    """GET / (HTML), GET /_sandbox/state (JSON) and the POST /_sandbox/* form handlers."""

    # --- JSON ------------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "team_id": self.team_id, "bot_user_id": self.bot_user_id,
            "users": list(self.users.values()),
            "channels": [{**ch, "messages": [{**m, "replies": self.thread(cid, m["ts"])}
                                             for m in self.messages(cid)]}
                         for cid, ch in self.channels.items()],
            "ephemerals": [dataclasses.asdict(e) for e in self.ephemerals],
            "responses": self.responses, "home_views": self.home_views,
            "uploads": [{k: v for k, v in u.items() if k != "bytes"} | {"size": len(u["bytes"])}
                        for u in self.uploads],
            "socket_connections": self.socket_connections,
        }

    async def _handle_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    # --- HTML ------------------------------------------------------------------------------

    def _author(self, msg: dict) -> str:
        if msg.get("bot_id"):
            return f"{msg.get('username') or self.bot_name} (app)"
        user = self.users.get(msg.get("user", ""), {})
        return user.get("real_name") or msg.get("user", "?")

    def _buttons(self, blocks: list[dict], fields: dict[str, str], *, pick_user: bool = True) -> str:
        out = []
        for block in blocks:
            is_actions = block.get("type") == "actions"
            elements = block.get("elements", []) if is_actions else [block.get("accessory")]
            for el in elements:
                if not isinstance(el, dict) or el.get("type") != "button":
                    continue
                hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                                 for k, v in {**fields, "action_id": el.get("action_id", ""),
                                              "value": el.get("value") or ""}.items())
                out.append(f'<form method="post" action="/_sandbox/click">{hidden}'
                           f'{self._user_select() if pick_user else ""}'
                           f'<button class="btn">{escape(_text(el.get("text")))}'
                           f"</button></form>")
        return "".join(out)

    def _blocks(self, blocks: list[dict] | None) -> str:
        parts = []
        for block in blocks or []:
            kind = block.get("type")
            if kind in ("section", "header", "markdown"):
                text = _text(block.get("text")) if kind != "markdown" else block.get("text", "")
                fields = " | ".join(_text(f) for f in block.get("fields") or [])
                parts.append(f"<div>{escape(text)}{'<br>' + escape(fields) if fields else ''}</div>")
            elif kind == "context":
                context = " · ".join(_text(e) for e in block.get("elements", []))
                parts.append(f'<div class="ctx">{escape(context)}</div>')
            elif kind == "divider":
                parts.append("<hr>")
        return "".join(parts)

    def _user_select(self, name: str = "user") -> str:
        options = "".join(f'<option value="{escape(uid)}">{escape(u["name"])}</option>'
                          for uid, u in self.users.items() if not u["is_bot"])
        return f'<select name="{name}">{options}</select>'

    def _render_msg(self, channel: str, msg: dict, css: str) -> str:
        has_rich = any(b.get("type") != "rich_text" for b in msg.get("blocks") or [])
        body = self._blocks(msg["blocks"]) if has_rich else f"<div>{escape(msg.get('text', ''))}</div>"
        buttons = self._buttons(msg.get("blocks") or [], {"channel": channel, "ts": msg["ts"]})
        edited = " (edited)" if msg.get("edited") else ""
        files = "".join(f"<div>📎 {escape(f.get('name', ''))}</div>" for f in msg.get("files") or [])
        return (f'<div class="msg {css}"><span class="who">{escape(self._author(msg))}</span> '
                f'<span class="ts">{escape(msg["ts"])}{edited}</span>{body}{files}{buttons}</div>')

    def render_html(self) -> str:
        out = [f"<!doctype html><html><head><meta charset='utf-8'>{_REFRESH}"
               f"<title>Baton Slack sandbox</title><style>{_CSS}</style></head><body>"
               f"<h1>Slack sandbox <small class='meta'>{escape(self.team_id)} · "
               f"{self.socket_connections} socket(s)</small></h1>"]
        channel_opts = "".join(f'<option value="{escape(c)}">#{escape(ch["name"])}</option>'
                               for c, ch in self.channels.items())
        out.append(f'<div class="actions"><form method="post" action="/_sandbox/command">Slash command as '
                   f'{self._user_select()} in <select name="channel">{channel_opts}</select> '
                   f'<input name="command" value="/baton" size="10"> <input name="text" size="30"> '
                   f"<button>Run</button></form></div>")
        for cid, ch in self.channels.items():
            out.append(f"<h2>#{escape(ch['name'])} <span class='meta'>{escape(cid)}</span></h2>")
            out.append(self._post_form(cid, None, "Post in channel"))
            for msg in self.messages(cid):
                out.append(self._render_msg(cid, msg, "bot" if msg.get("bot_id") else ""))
                for reply in self.thread(cid, msg["ts"]):
                    css = "reply bot" if reply.get("bot_id") else "reply"
                    out.append(self._render_msg(cid, reply, css))
                form = self._post_form(cid, msg["ts"], "Post in this thread")
                out.append(f'<div class="reply">{form}</div>')
        out.append("<h2>Ephemeral messages</h2>")
        for index, eph in enumerate(self.ephemerals):
            if eph.deleted:
                continue
            to = self.users.get(eph.user, {}).get("name", eph.user)
            body = self._blocks(eph.blocks) if eph.blocks else f"<div>{escape(eph.text)}</div>"
            hidden = {"user": eph.user, "ephemeral": str(index)}
            body += self._buttons(eph.blocks or [], hidden, pick_user=False)
            thread = f" in thread {escape(eph.thread_ts)}" if eph.thread_ts else ""
            out.append(f'<div class="msg eph"><span class="who">only visible to {escape(to)}</span> '
                       f'<span class="ts">#{escape(eph.channel)}{thread}</span>{body}</div>')
        out.append("</body></html>")
        return "".join(out)

    def _post_form(self, channel: str, thread_ts: str | None, label: str) -> str:
        thread = f'<input type="hidden" name="thread_ts" value="{escape(thread_ts)}">' if thread_ts else ""
        return (f'<form method="post" action="/_sandbox/post"><input type="hidden" name="channel" '
                f'value="{escape(channel)}">{thread}{label} as {self._user_select()} '
                f'<input name="text" size="50" required> <button>Send</button></form>')

    async def _handle_index(self, request: web.Request) -> web.Response:
        return web.Response(text=self.render_html(), content_type="text/html")

    # --- actions ---------------------------------------------------------------------------

    async def _form(self, request: web.Request, *required: str) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.post()).items()}
        missing = [k for k in required if not form.get(k)]
        if missing:
            raise web.HTTPBadRequest(text=f"missing fields: {', '.join(missing)}")
        return form

    def _done(self, request: web.Request, result: Any) -> web.Response:
        # Browsers go back to the page; scripts (Accept: application/json) get the result.
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(result)
        raise web.HTTPSeeOther("/")

    async def _handle_post(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "channel", "text")
        msg = await self.user_posts(form["user"], form["channel"], form["text"],
                                    thread_ts=form.get("thread_ts") or None)
        return self._done(request, msg)

    async def _handle_click(self, request: web.Request) -> web.Response:
        if "ephemeral" in (await request.post()):
            form = await self._form(request, "user", "ephemeral", "action_id")
            eph = self.ephemerals[int(form["ephemeral"])]
            resp = await self.click_ephemeral_button(eph.user, eph, form["action_id"],
                                                     value=form.get("value") or None)
            return self._done(request, dataclasses.asdict(resp))
        form = await self._form(request, "user", "channel", "ts", "action_id")
        try:
            resp = await self.click_button(form["user"], form["channel"], form["ts"], form["action_id"],
                                           value=form.get("value") or None)
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        return self._done(request, dataclasses.asdict(resp))

    async def _handle_command(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "channel", "command")
        resp = await self.slash_command(form["user"], form["command"], form.get("text", ""),
                                        channel=form["channel"])
        return self._done(request, dataclasses.asdict(resp))
