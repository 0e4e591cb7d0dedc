"""Slack people: display names (cached) and the operator user group's members (refreshed)."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.access import Access
from bot.core.events import Actor

log = logging.getLogger(__name__)


class Directory:
    def __init__(self, client: AsyncWebClient, access: Access, *, refresh_seconds: float = 300.0) -> None:
        self.client = client
        self.access = access
        self.refresh_seconds = refresh_seconds
        self._names: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

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
        group = self.access.operator_group
        if not group:
            return
        try:
            resp = await self.client.usergroups_users_list(usergroup=group)
            self.access.group_members = set(resp.get("users") or [])
        except SlackApiError as exc:
            # Keep the last known members: a Slack hiccup must not lock every operator out.
            log.warning("could not read operator group %s: %s", group, exc.response.get("error"))

    def start(self) -> None:
        if self.access.operator_group:
            self._task = asyncio.create_task(self._refresh_loop(), name="slack-operator-group")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refresh_loop(self) -> None:
        while True:
            await self.refresh_group()
            await asyncio.sleep(self.refresh_seconds)
