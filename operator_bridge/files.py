"""Files across the bridge: customers' files uploaded into their thread, operators' files fetched from Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.media import (
    TELEGRAM_DOWNLOAD_LIMIT,
    TELEGRAM_UPLOAD_LIMIT,
    FetchFile,
    FetchResult,
    SharedFile,
    TooLarge,
    file_emoji,
    human_size,
)
from bot.core.ports import Delivered, Failed, Result, RetryLater
from operator_bridge import blocks
from storage.models import Message

log = logging.getLogger(__name__)

# Where Slack serves files from. The bot token goes only to these hosts, whatever URL an event names.
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
_DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=15)


class CustomerFileMirror:
    """Mirrors a customer's file message: the file itself in the thread, or the text and why not."""

    def __init__(self, client: AsyncWebClient, fetch: FetchFile, classify: Callable[[SlackApiError], Result]
                 ) -> None:
        self.client = client
        self.fetch = fetch
        # The deliverer's own classification, so an upload error means the same as any other Slack error.
        self.classify = classify

    async def mirror(self, channel: str, thread_ts: str, message: Message, post_args: dict[str, Any]) -> Result:
        """`post_args`: how the message would be posted as text (mrkdwn placeholder and caption, username)."""
        assert message.tg_file_id is not None
        text = str(post_args.get("text") or "")
        name = message.file_name or "file"
        if message.file_size and message.file_size > TELEGRAM_DOWNLOAD_LIMIT:
            data: FetchResult = TooLarge(TELEGRAM_DOWNLOAD_LIMIT)  # getFile would refuse it: don't ask
        else:
            data = await self.fetch(message.tg_file_id)
        if isinstance(data, RetryLater):
            return data
        if isinstance(data, TooLarge):
            size = f" ({human_size(message.file_size)})" if message.file_size else ""
            return await self._instead(channel, thread_ts, text, post_args,
                                       f"{file_emoji(message.mime_type)} {name}{size}: too large for bots to "
                                       "download; ask the customer to send it another way")
        if isinstance(data, Failed):
            return await self._instead(channel, thread_ts, text, post_args,
                                       f"{name} could not be fetched from Telegram: {data.reason}")
        who = post_args.get("username") or "customer"
        try:
            await self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=data, filename=name,
                                              title=name, initial_comment=f"*{blocks._esc(who)}*: {text}")
        except SlackApiError as exc:
            result = self.classify(exc)
            if not isinstance(result, Failed):
                return result
            error = exc.response.get("error", "unknown_error")
            return await self._instead(channel, thread_ts, text, post_args,
                                       f"{name} could not be attached here (Slack: {error})")
        except SlackRequestError as exc:  # the upload URL did not take the bytes
            return RetryLater(f"Slack file upload failed: {exc}")
        # files.completeUploadExternal does not say which message shared the file: no ts to record.
        return Delivered(slack_channel=channel)

    async def _instead(self, channel: str, thread_ts: str, text: str, post_args: dict[str, Any], note: str
                       ) -> Result:
        """Never a silent drop: the message still appears, attributed as usual, with what became of the file."""
        resp = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                                  unfurl_media=False,
                                                  **{**post_args, "text": f"{text}\n:warning: {blocks._esc(note)}"})
        return Delivered(slack_channel=channel, slack_ts=resp["ts"])


class SlackFileFetcher:
    """The `FetchFile` port for operators' files: `url_private_download` with the bot token in a header."""

    def __init__(self, token: str, *, extra_hosts: Iterable[str] = ()) -> None:
        self._token = token
        self.hosts = SLACK_FILE_HOSTS | set(extra_hosts)

    @classmethod
    def for_api(cls, token: str, api_url: str) -> SlackFileFetcher:
        # A self-hosted or sandbox Slack serves files from its own host, next to its Web API.
        host = urlsplit(api_url).netloc
        return cls(token, extra_hosts=[host] if host and host != "slack.com" else [])

    async def __call__(self, url: str) -> FetchResult:
        parts = urlsplit(url)
        if parts.netloc not in self.hosts or parts.scheme not in ("https", "http"):
            return Failed(f"not a Slack file address ({parts.netloc or 'none'})")
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            # aiohttp drops the Authorization header if a redirect leaves the host.
            async with aiohttp.ClientSession(timeout=_DOWNLOAD_TIMEOUT) as session, \
                    session.get(url, headers=headers) as resp:
                return await self._read(resp)
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            return RetryLater(f"network error fetching the file from Slack: {type(exc).__name__}")

    async def _read(self, resp: aiohttp.ClientResponse) -> FetchResult:
        if resp.status == 429:
            try:
                after = float(resp.headers.get("Retry-After", "1"))
            except ValueError:
                after = 1.0
            return RetryLater("Slack rate limit", after=after)
        if resp.status >= 500:
            return RetryLater(f"Slack answered HTTP {resp.status} for the file")
        if resp.status in (401, 403):
            log.error("Slack refused a file download (HTTP %s); does the app have the files:read scope?",
                      resp.status)
            return Failed(f"Slack refused the download (HTTP {resp.status})")
        if resp.status != 200:
            return Failed(f"Slack answered HTTP {resp.status} for the file")
        if resp.content_type == "text/html":
            # What Slack serves instead of the file when the token is missing or lacks a scope: a login page.
            return Failed("Slack answered with a web page instead of the file (check the files:read scope)")
        if (resp.content_length or 0) > TELEGRAM_UPLOAD_LIMIT:
            return TooLarge(TELEGRAM_UPLOAD_LIMIT)  # Telegram would refuse it: don't download it
        return await resp.read()


def shared_files(event: dict[str, Any]) -> tuple[SharedFile, ...]:
    """The downloadable files of a `file_share` message event (external and check-info files have no URL)."""
    found = []
    for f in event.get("files") or []:
        url = isinstance(f, dict) and (f.get("url_private_download") or f.get("url_private"))
        if url and not f.get("is_external"):
            found.append(SharedFile(url=url, name=f.get("name") or f.get("title") or "file",
                                    mime_type=f.get("mimetype") or "application/octet-stream",
                                    size=int(f.get("size") or 0)))
    return tuple(found)


def with_file_labels(plain: str, files: tuple[SharedFile, ...]) -> str:
    """The stored text of a message with files, like customers' "[📷 Photo] caption": history and search."""
    labels = " ".join(f"[📎 {f.name}]" for f in files)
    return f"{labels} {plain}".strip() if labels else plain
