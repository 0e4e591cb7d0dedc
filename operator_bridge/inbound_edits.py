"""Slack → core: a person editing or deleting their message in a conversation thread."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.core import markup
from bot.core.events import Delivery, OperatorDeleted, OperatorEdited, Outcome
from bot.core.service import Service
from operator_bridge.directory import Directory
from operator_bridge.rich_text_in import operator_markup

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)")
EDIT_SUBTYPES = frozenset({"message_changed", "message_deleted"})
# What a person's own message can be; bot posts, Slackbot tombstones and joins are not.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}

Tell = Callable[[Outcome, str, str, str | None], Awaitable[None]]


def _by_a_person(message: dict[str, Any]) -> bool:
    return (bool(message.get("user")) and message.get("user") != "USLACKBOT" and not message.get("bot_id")
            and message.get("subtype") in _PERSON_SUBTYPES)


def _thread_reply(message: dict[str, Any]) -> tuple[str, str] | None:
    """(ts, thread_ts) of a reply in a thread; None for top-level messages."""
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    if not ts or not thread_ts or ts == thread_ts:
        return None
    return str(ts), str(thread_ts)


class SlackEdits:
    def __init__(self, service: Service, directory: Directory, tell: Tell, conversation_channels: set[str]) -> None:
        self.service = service
        self.directory = directory
        self.tell = tell
        self.conversation_channels = conversation_channels

    async def on_event(self, event: dict[str, Any]) -> None:
        if event.get("subtype") == "message_changed":
            await self._changed(event)
        else:
            await self._deleted(event)

    async def _changed(self, event: dict[str, Any]) -> None:
        channel, new, old = event.get("channel"), event.get("message") or {}, event.get("previous_message") or {}
        where = _thread_reply(new)
        if channel not in self.conversation_channels or where is None or not _by_a_person(new):
            return  # Baton's own updates (cards, mirrors), apps, and top-level chatter
        text = new.get("text") or ""
        if "text" in old and old.get("text") == text:
            return  # Slack decorating the message (an unfurl, a reply count), not the author editing it
        ts, thread_ts = where
        for user_id in set(_MENTION.findall(text)):
            await self.directory.name(user_id)
        tree = operator_markup(new, user_name=self.directory.cached_name)
        actor = await self.directory.actor(new["user"])
        # Each edit carries its own edited.ts; a retried event carries the same one.
        version = str((new.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts") or "")
        delivery = Delivery("slack", f"edit:{channel}:{ts}:{version}")
        outcome = await self._handle(OperatorEdited(delivery, actor, channel, thread_ts, ts, markup.to_plain(tree),
                                                    markup.to_html(tree), _when(version)))
        await self.tell(outcome, channel, actor.slack_user_id, thread_ts)

    async def _deleted(self, event: dict[str, Any]) -> None:
        channel, old = event.get("channel"), event.get("previous_message") or {}
        where = _thread_reply({**old, "ts": event.get("deleted_ts") or old.get("ts")})
        if channel not in self.conversation_channels or where is None or not _by_a_person(old):
            return
        ts, thread_ts = where
        # Slack does not say who deleted it (an admin can delete anyone's): the author is the best guess.
        actor = await self.directory.actor(old["user"])
        outcome = await self._handle(OperatorDeleted(Delivery("slack", f"delete:{channel}:{ts}"), actor, channel,
                                                     thread_ts, ts))
        if outcome.feedback:
            await self.tell(outcome, channel, actor.slack_user_id, thread_ts)

    async def _handle(self, event: OperatorEdited | OperatorDeleted) -> Outcome:
        outcome = await self.service.handle(event)
        # A quick edit or deletion can overtake the recording of the message itself (Bolt handles events
        # concurrently). The event is already acknowledged, so waiting here costs Slack nothing.
        for delay in (0.05, 0.2, 0.5, 1.0, 2.0):
            if not outcome.unknown_thread:
                break
            await asyncio.sleep(delay)
            outcome = await self.service.handle(event)
        return outcome


def _when(slack_ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(slack_ts), UTC)
    except ValueError:
        return None
