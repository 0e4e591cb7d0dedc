"""The Slack sandbox page's server side: the HTML, live fragments, events, files and the people's actions."""

from __future__ import annotations

import dataclasses
import mimetypes
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.live import stream_changes
from sandbox.slack_actors import HumanActionsMixin
from sandbox.slack_page import SlackPage

_STATIC_DIR = Path(__file__).parent / "static"
_STATIC = {"slack.js": "text/javascript", "slack.css": "text/css", "telegram.js": "text/javascript",
           "telegram.css": "text/css"}

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

    def page_for(self, request: web.Request) -> tuple[SlackPage, str]:
        """The page as the viewer named in the query sees it (default: the first person)."""
        people = [uid for uid, u in self.users.items() if not u.get("is_bot")]
        viewer = request.query.get("as") or ""
        viewer = viewer if viewer in people else (people[0] if people else self.bot_user_id)
        channels = [cid for cid, ch in self.channels.items() if not ch.get("is_im")]
        channel = request.query.get("channel") or ""
        channel = channel if channel in self.channels else (channels[0] if channels else "")
        tab = "home" if request.query.get("tab") == "home" else "channel"
        page = SlackPage(self, viewer, channel, request.query.get("thread") or None, self.manifest)
        return page, tab

    async def _handle_index(self, request: web.Request) -> web.Response:
        page, tab = self.page_for(request)
        return web.Response(text=page.page(tab), content_type="text/html")

    async def _handle_fragments(self, request: web.Request) -> web.Response:
        page, tab = self.page_for(request)
        return web.json_response(page.fragments(tab))

    async def _handle_static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=(_STATIC_DIR / name).read_bytes(), content_type=_STATIC[name],
                            headers={"Cache-Control": "no-cache"})

    async def _handle_file_view(self, request: web.Request) -> web.Response:
        """A file for the page's <img> and download links (the browser has no bot token)."""
        file_id = request.match_info["file_id"]
        hosted = self.hosted_files.get(file_id)
        if hosted is not None:
            return web.Response(body=hosted["data"], content_type=hosted["mimetype"])
        upload = next((u for u in self.uploads if u["id"] == file_id), None)
        if upload is None:
            raise web.HTTPNotFound(text="no such file")
        kind = mimetypes.guess_type(upload["filename"])[0] or "application/octet-stream"
        return web.Response(body=upload["bytes"], content_type=kind)

    async def _handle_events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: one "change" whenever the workspace changes, so the page stays live."""
        return await stream_changes(request, lambda: self._change, lambda: self._ui_closing)

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
            if not form["ephemeral"].isdigit() or int(form["ephemeral"]) >= len(self.ephemerals):
                raise web.HTTPNotFound(text="no such ephemeral message")
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

    async def _handle_shortcut(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "callback_id", "channel", "ts")
        try:
            resp = await self.message_shortcut(form["user"], form["callback_id"], form["channel"], form["ts"])
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        return self._done(request, dataclasses.asdict(resp))

    async def _handle_open_home(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user")
        return self._done(request, dataclasses.asdict(await self.open_home(form["user"])))

    async def _handle_view_submit(self, request: web.Request) -> web.Response:
        """A modal's form, as Slack's view_submission: errors keep it open and are shown by their fields."""
        fields = await request.post()
        user, view_id = str(fields.get("user") or ""), str(fields.get("view_id") or "")
        opened = self.modals.get(user)
        if opened is None or opened["view"]["id"] != view_id:
            raise web.HTTPConflict(text="this form is no longer open")
        view = opened["view"]
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks") or []:
            element, bid = block.get("element") or {}, str(block.get("block_id", ""))
            if block.get("type") != "input":
                continue
            raw = fields.get(bid)
            kind = element.get("type")
            if kind == "file_input":
                upload = raw if isinstance(raw, web.FileField) else None
                data = upload.file.read() if upload is not None else b""
                files = [self.host_file(user, data, upload.filename, upload.content_type or "text/plain")] if (
                    upload is not None and upload.filename and data) else []
                values[bid] = {"files": files}
            elif kind == "static_select":
                option = next((o for o in element.get("options") or [] if o.get("value") == raw), None)
                values[bid] = {"selected_option": option}
            elif kind == "datetimepicker":
                epoch = str(fields.get(f"{bid}__epoch") or "")
                values[bid] = {"selected_date_time": int(epoch) if epoch.isdigit() else None}
            else:
                values[bid] = {"value": str(raw) if raw else None}
        resp = await self.submit_view(user, view, values)
        body = resp.body if isinstance(resp.body, dict) else {}
        if resp.status == 200 and body.get("response_action") == "errors":
            opened["errors"] = dict(body.get("errors") or {})
        elif resp.status == 200:
            self.modals.pop(user, None)
        self.changed()
        return web.json_response(dataclasses.asdict(resp))

    async def _handle_view_close(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user")
        self.modals.pop(form["user"], None)
        self.changed()
        return web.json_response({"ok": True})

    async def _handle_home_click(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "action_id")
        try:
            resp = await self.click_home_button(form["user"], form["action_id"], value=form.get("value") or None)
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        return self._done(request, dataclasses.asdict(resp))

    async def _handle_edit(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "channel", "ts", "text")
        try:
            await self.user_edits(form["user"], form["channel"], form["ts"], form["text"])
        except PermissionError as exc:
            raise web.HTTPForbidden(text=str(exc)) from exc
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        return self._done(request, self.message(form["channel"], form["ts"]))

    async def _handle_delete(self, request: web.Request) -> web.Response:
        form = await self._form(request, "user", "channel", "ts")
        try:
            if self.message(form["channel"], form["ts"]).get("user") != form["user"]:
                raise web.HTTPForbidden(text="Slack only lets authors delete their messages")
            await self.user_deletes(form["user"], form["channel"], form["ts"])
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        return self._done(request, {"ok": True})

    async def _handle_share(self, request: web.Request) -> web.Response:
        """A person drops a file into a thread or channel, with an optional message."""
        fields = await request.post()
        upload = fields.get("file")
        user, channel = str(fields.get("user") or ""), str(fields.get("channel") or "")
        if not isinstance(upload, web.FileField) or not user or not channel:
            raise web.HTTPBadRequest(text="missing fields: user, channel and a file")
        kind = upload.content_type or mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        msg = await self.user_shares_file(user, channel, upload.file.read(), upload.filename, kind,
                                          str(fields.get("text") or ""),
                                          thread_ts=str(fields.get("thread_ts") or "") or None)
        return self._done(request, msg)
