"""Thread permalinks, cached: a thread's link never changes, and App Home / history list many of them."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage.models import Conversation


class Permalinks:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._cache: dict[tuple[str, str], str] = {}

    async def of(self, conv: Conversation) -> str | None:
        if not conv.slack_channel or not conv.slack_thread_ts:
            return None
        key = (conv.slack_channel, conv.slack_thread_ts)
        if key not in self._cache:
            try:
                resp = await self.client.chat_getPermalink(channel=key[0], message_ts=key[1])
            except SlackApiError:
                return None
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[key] = str(resp.get("permalink"))
        return self._cache[key]


def linked(conv: Conversation, link: str | None) -> str:
    return f"<{link}|#{conv.id}>" if link else f"#{conv.id}"
