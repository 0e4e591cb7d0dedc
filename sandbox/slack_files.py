"""Fake Slack file uploads: files.getUploadURLExternal, the upload URL, files.completeUploadExternal."""

from __future__ import annotations

from aiohttp import web

from sandbox.slack_delivery import DeliveryMixin
from sandbox.slack_state import PERMALINK_HOST, ApiError


class FilesApiMixin(DeliveryMixin):
    """The three-step upload flow slack_sdk's files_upload_v2 uses; mixed into FakeSlack."""

    url: str
    _pending_uploads: dict[str, dict]

    def _m_files_getUploadURLExternal(self, args: dict) -> dict:
        if not args.get("filename") or not str(args.get("length") or "").isdigit():
            raise ApiError("invalid_arguments")
        file_id = self.new_id("F")
        self._pending_uploads[file_id] = {"filename": args["filename"], "length": int(args["length"]),
                                          "alt_txt": args.get("alt_txt"), "bytes": None}
        return {"upload_url": f"{self.url}upload/v1/{file_id}", "file_id": file_id}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        pending = self._pending_uploads.get(request.match_info["file_id"])
        if pending is None:
            return web.Response(status=404, text="upload_url not found")
        pending["bytes"] = await request.read()
        self.changed()
        return web.Response(text=f"OK - {len(pending['bytes'])}")

    def _m_files_completeUploadExternal(self, args: dict) -> dict:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        channels = [c for c in str(args.get("channel_id") or args.get("channels") or "").split(",") if c]
        if args.get("thread_ts") and len(channels) > 1:
            raise ApiError("invalid_arguments")
        for channel in channels:
            self.require_channel(channel)
        infos = []
        for f in files:
            pending = self._pending_uploads.get(f.get("id"))
            if pending is None or pending["bytes"] is None:
                raise ApiError("file_not_found")
            name = pending["filename"]
            infos.append({"id": f["id"], "name": name, "title": f.get("title") or name,
                          "size": len(pending["bytes"]), "user": self.bot_user_id,
                          "created": int(self.clock()),
                          "permalink": f"{PERMALINK_HOST}/files/{self.bot_user_id}/{f['id']}/{name}"})
        for info in infos:
            pending = self._pending_uploads.pop(info["id"])
            self.uploads.append({"id": info["id"], "file_id": info["id"], "filename": info["name"],
                                 "title": info["title"], "bytes": pending["bytes"],
                                 "channel": channels[0] if channels else None,
                                 "thread_ts": args.get("thread_ts") or None,
                                 "initial_comment": args.get("initial_comment")})
        for channel in channels:
            post = {**args, "text": args.get("initial_comment") or ""}
            msg = self.store_bot_message(channel, post, subtype="file_share",
                                         extra={"files": infos, "upload": True, "user": self.bot_user_id})
            self._emit_echo({**msg, "channel": channel})
        return {"files": [{"id": i["id"], "title": i["title"]} for i in infos]}
