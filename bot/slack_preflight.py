"""What Slack says about the [slack] and [access] settings: tokens, channels, the operator group, people."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AccessSettings, SlackSettings
from bot.startup import slack_problem
from operator_bridge.channel_watch import error_of

# Slack answers these when a channel id is wrong, or the bot cannot see or post to it.
CHANNEL_GONE = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}


class SlackChecks:
    def __init__(self, client: AsyncWebClient, settings: SlackSettings) -> None:
        self.client, self.settings = client, settings
        self.problems: list[str] = []
        self.facts: list[str] = []
        self.bot_name = "Baton"

    async def run(self, access: AccessSettings | None) -> None:
        await self._app_token()  # independent of the bot token: checked even when that one is refused
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            self.problems.append(slack_problem(exc, self.settings.api_url))
            return  # every other check needs the bot token
        self.bot_name = str(auth.get("user") or self.bot_name)
        self.facts.append(f"Slack workspace {auth.get('team')} as @{self.bot_name}")
        for key, channel in self._channels():
            await self._channel(key, channel)
        if access is not None:
            if access.operator_group:
                await self._group(access.operator_group)
            for key, people in (("access.operators", access.operators), ("access.admins", access.admins)):
                for user in people:
                    await self._person(key, user)

    def _channels(self) -> list[tuple[str, str]]:
        s = self.settings
        found = [("slack.channel", s.channel)] if s.channel else []
        found += [("slack.channels", channel) for channel in s.channels]
        found += [("slack.alerts_channel", s.alerts_channel)] if s.alerts_channel else []
        return found

    async def _app_token(self) -> None:
        if self.settings.mode != "socket" or not self.settings.app_token:
            return
        try:
            await self.client.apps_connections_open(app_token=self.settings.app_token)
        except SlackApiError as exc:
            self.problems.append(slack_problem(exc, self.settings.api_url))

    async def _channel(self, key: str, channel: str) -> None:
        invite = f"/invite @{self.bot_name}"
        try:
            info = (await self.client.conversations_info(channel=channel))["channel"]
        except SlackApiError as exc:
            error = error_of(exc)
            if error == "channel_not_found":
                self.problems.append(
                    f"{key}: Slack has no channel {channel} that the bot can see (channel_not_found). Fix: copy the "
                    f"id from the channel's details (About → Channel ID); for a private channel, first run "
                    f"`{invite}` in it.")
            elif error == "missing_scope":
                self.problems.append(
                    f"{key}: cannot check channel {channel}: the bot token lacks a scope. "
                    "Fix: add channels:read and groups:read under OAuth & Permissions and reinstall the app.")
            else:
                raise
            return
        name = f"#{info.get('name') or channel}"
        if info.get("is_archived"):
            self.problems.append(f"{key}: {name} ({channel}) is archived. Fix: unarchive it or choose another "
                                 "channel.")
        elif not info.get("is_member"):
            self.problems.append(f"{key}: the bot is not a member of {name} ({channel}), so it cannot post there "
                                 f"(not_in_channel). Fix: run `{invite}` in {name}.")
        else:
            self.facts.append(f"{key} {name}")

    async def _group(self, group: str) -> None:
        try:
            await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            error = error_of(exc)
            if error not in ("no_such_subteam", "subteam_not_found", "missing_scope"):
                raise
            fix = ("add usergroups:read under OAuth & Permissions and reinstall the app" if error == "missing_scope"
                   else "copy the id (S…) of an existing user group")
            self.problems.append(f"access.operator_group: Slack cannot list user group {group} ({error}). "
                                 f"Fix: {fix}.")

    async def _person(self, key: str, user: str) -> None:
        try:
            found = (await self.client.users_info(user=user))["user"]
        except SlackApiError as exc:
            if error_of(exc) != "user_not_found":
                raise
            self.problems.append(f"{key}: Slack has no member {user} (user_not_found). Fix: copy member ids from "
                                 "people's profiles (⋮ → Copy member ID).")
            return
        if found.get("deleted"):
            self.problems.append(f"{key}: {user} ({found.get('name')}) is deactivated in Slack. Fix: remove it.")
