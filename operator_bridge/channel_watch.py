"""Slack channels Baton cannot post to: /healthz turns red with the reason, and the admins are told by DM.

A wrong channel id or a bot removed from the channel is not fixed by retrying, but it is fixed by a
person: so the delivery keeps its place in the outbox (nothing is dropped, it is posted once the
channel works again), health names the channel and Slack's error, and every admin gets one direct
message per channel and error. A later successful post to the channel clears it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# Permanent for the channel, whatever is posted: only a change in Slack or in the config helps.
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}


def error_of(exc: SlackApiError) -> str:
    """Slack's error code, or "HTTP 503" when the body was not Slack's JSON (a proxy's or an outage's page)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(exc.response, 'status_code', '?')}"


def channel_of(exc: SlackApiError) -> str | None:
    """The channel a failed Web API call named (slack_sdk keeps the request's arguments on the response)."""
    req_args: dict[str, Any] = getattr(exc.response, "req_args", None) or {}
    for part in ("json", "data", "params"):
        args = req_args.get(part)
        if isinstance(args, dict) and args.get("channel"):
            return str(args["channel"])
    return None


class ChannelWatch:
    def __init__(self, client: AsyncWebClient, admins: Callable[[], Iterable[str]]) -> None:
        self.client = client
        self.admins = admins
        self.troubles: dict[str, str] = {}  # channel id -> Slack's error
        self._told: set[tuple[str, str]] = set()

    def reasons(self) -> list[str]:
        """For /healthz: one line per channel Baton cannot post to."""
        return [f"Slack channel {channel}: {error}" for channel, error in sorted(self.troubles.items())]

    def delivered(self, channel: str | None) -> None:
        if channel is not None and self.troubles.pop(channel, None) is not None:
            log.warning("Slack channel %s works again", channel)
            self._told = {told for told in self._told if told[0] != channel}

    async def refused(self, channel: str, error: str) -> None:
        first = self.troubles.get(channel) != error
        self.troubles[channel] = error
        if first:
            log.error("Slack refuses posts to channel %s (%s): deliveries there wait until it is fixed", channel,
                      error)
        if (channel, error) in self._told:
            return
        self._told.add((channel, error))
        await self._tell_admins(channel, error)

    async def _tell_admins(self, channel: str, error: str) -> None:
        fix = ("the bot is not in that channel: run `/invite @Baton` there" if error == "not_in_channel"
               else "the channel id is wrong, archived or private without the bot: check `[slack]` in the config "
               "(`baton check-config` says what is wrong)")
        text = (f":warning: Baton cannot post to Slack channel `{channel}` (`{error}`): {fix}. Customers still get "
                "answers, but operators see nothing there; the waiting posts go out once it is fixed.")
        admins = sorted(set(self.admins()))
        if not admins:
            log.error("no admins to tell about Slack channel %s (%s): add [access] admins", channel, error)
        for admin in admins:
            try:
                dm = (await self.client.conversations_open(users=admin))["channel"]["id"]
                await self.client.chat_postMessage(channel=dm, text=text)
            except (SlackApiError, aiohttp.ClientError, TimeoutError, KeyError, TypeError) as exc:
                log.warning("could not tell admin %s about channel %s: %s", admin, channel, exc)
