"""Fake Slack files: the app's uploads (getUploadURLExternal, upload URL, completeUploadExternal) and
people sharing files in a channel, served from `url_private_download` to the bot token only."""

from __future__ import annotations

import asyncio
import hmac
from pathlib import PurePosixPath
from urllib.parse import quote

from aiohttp import web

from sandbox.slack_delivery import DeliveryMixin
from sandbox.slack_state import PERMALINK_HOST, ApiError


class FilesApiMixin(DeliveryMixin):
    """The three-step upload flow slack_sdk's files_upload_v2 uses; mixed into FakeSlack."""

    url: str
    bot_token: str
    _pending_uploads: dict[str, dict]
    hosted_files: dict[str, dict]
    file_downloads: list[dict]
    _holds: dict[str, asyncio.Event]

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

    # --- people share files --------------------------------------------------------------------

    async def user_shares_file(self, user_id: str, channel: str, data: bytes, filename: str, mimetype: str,
                               text: str = "", *, thread_ts: str | None = None) -> dict:
        """A person drops a file into a channel or thread: a `file_share` message event, like Slack's."""
        msg = self.store_user_message(user_id, channel, text, thread_ts)
        msg.update(subtype="file_share", upload=True, display_as_bot=False,
                   files=[self.host_file(user_id, data, filename, mimetype, created=int(float(msg["ts"])))])
        if not text:
            msg.pop("blocks", None)  # a bare file share has no rich text
        self.changed()
        await self.deliver_event({**msg, "channel": channel})
        return self.message(channel, msg["ts"])

    def host_file(self, user_id: str, data: bytes, filename: str, mimetype: str, *,
                  created: int | None = None) -> dict:
        """A file a person uploaded (e.g. in a modal's file input): the file object Slack hands the app,
        downloadable from `url_private_download` with the bot token."""
        file_id = self.new_id("F")
        self.hosted_files[file_id] = {"data": bytes(data), "mimetype": mimetype, "name": filename}
        base = f"{self.url}files-pri/{self.team_id}-{file_id}"
        ext = PurePosixPath(filename).suffix.lstrip(".").lower()
        created = created if created is not None else int(self.clock())
        return {
            "id": file_id, "created": created, "timestamp": created, "name": filename, "title": filename,
            "mimetype": mimetype, "filetype": ext or "binary", "pretty_type": (ext or "binary").upper(),
            "user": user_id, "user_team": self.team_id, "editable": False, "size": len(data), "mode": "hosted",
            "is_external": False, "external_type": "", "is_public": True, "public_url_shared": False,
            "display_as_bot": False, "username": "",
            "url_private": f"{base}/{quote(filename)}", "url_private_download": f"{base}/download/{quote(filename)}",
            "permalink": f"{PERMALINK_HOST}/files/{user_id}/{file_id}/{quote(filename)}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-0000000000",
            "has_rich_preview": False, "file_access": "visible",
        }

    async def _handle_file_download(self, request: web.Request) -> web.Response:
        """url_private(_download): only with the bot token in the Authorization header, never in the URL."""
        file_id = request.match_info["team_file"].rpartition("-")[2]
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        authorized = bool(given) and hmac.compare_digest(given.encode(), self.bot_token.encode())
        if "token" in request.query:
            authorized = False  # a token in a URL ends up in logs and proxies: refused
        self.file_downloads.append({"file_id": file_id, "authorized": authorized, "path": request.path,
                                    "query": dict(request.query)})
        self.changed()
        gate = self._holds.get("files.download")  # hold("files.download"): a slow file host
        if gate is not None:
            await gate.wait()
        hosted = self.hosted_files.get(file_id)
        if not authorized:
            return web.Response(status=401, text="not_authed")
        if hosted is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=hosted["data"], content_type=hosted["mimetype"])
