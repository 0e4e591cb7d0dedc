"""Slack people: display names (cached) and the operator user group's members (refreshed)."""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.access import Access
from bot.core.events import Actor
from bot.core.workers import Worker
from operator_bridge.channel_watch import error_of

log = logging.getLogger(__name__)
_PASSING = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class Directory:
    def __init__(self, client: AsyncWebClient, access: Access, *, refresh_seconds: float = 300.0) -> None:
        self.client = client
        self.access = access
        self.refresh_seconds = refresh_seconds
        self.attempts = 4
        self.retry_base_seconds = 1.0
        self._names: dict[str, str] = {}
        # A refresh that raises is logged and tried again after a backoff of at most one refresh interval.
        self.worker = Worker("slack-operator-group", self.refresh_group, idle_seconds=refresh_seconds,
                             backoff_max=refresh_seconds)

    def cached_name(self, user_id: str) -> str | None:
        return self._names.get(user_id)

    async def name(self, user_id: str) -> str:
        if user_id in self._names:
            return self._names[user_id]
        try:
            user = (await self.client.users_info(user=user_id))["user"]
            profile = user.get("profile") or {}
            # The full name reads best to customers ("You're now talking with Alice"); handles often don't.
            name = user.get("real_name") or profile.get("real_name") or profile.get("display_name") \
                or user.get("name") or user_id
        except (SlackApiError, KeyError, TypeError) as exc:
            log.info("users.info %s failed (%s); using the id", user_id, exc)
            return user_id
        self._names[user_id] = name
        return name

    async def actor(self, user_id: str) -> Actor:
        return Actor(user_id, await self.name(user_id))

    async def refresh_group(self) -> None:
        """Read the operator group's members; on a passing failure retry with backoff, on any failure keep
        the last known members (a Slack hiccup must not lock every operator out, nor stop Baton starting)."""
        group = self.access.operator_group
        if not group:
            return
        for attempt in range(1, self.attempts + 1):
            try:
                resp = await self.client.usergroups_users_list(usergroup=group)
                self.access.group_members = set(resp.get("users") or [])
                return
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                why = error_of(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
                passing = not isinstance(exc, SlackApiError) or why.startswith("HTTP 5") or why in _PASSING
                if not passing or attempt == self.attempts:
                    log.warning("could not read operator group %s (%s); keeping the %d members known", group, why,
                                len(self.access.group_members))
                    return
                delay = self.retry_base_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
                log.warning("could not read operator group %s (%s); retrying in %.1f s", group, why, delay)
                await asyncio.sleep(delay)

    def start(self) -> None:
        if self.access.operator_group:
            self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop(grace=0)  # a refresh in hand changes nothing that must be finished
