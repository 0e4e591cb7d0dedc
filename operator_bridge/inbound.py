"""Slack → core: thread replies, buttons and the message shortcut become core events."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.core import markup
from bot.core.events import (
    Action,
    ConversationRef,
    Delivery,
    OperatorMessage,
    Outcome,
    TakeoverRequested,
)
from bot.core.service import Service
from operator_bridge import action_ids, blocks
from operator_bridge.directory import Directory
from operator_bridge.files import shared_files, with_file_labels
from operator_bridge.inbound_edits import EDIT_SUBTYPES, SlackEdits
from operator_bridge.replays import delivery_of
from operator_bridge.replies_out import reply_mrkdwn
from operator_bridge.rich_text_in import operator_markup

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)")
# Message subtypes that are a person writing; edits, joins and the like are not replies.
_REPLY_SUBTYPES = {None, "file_share", "thread_broadcast"}


class SlackInbound:
    def __init__(self, app: AsyncApp, service: Service, directory: Directory,
                 conversation_channels: set[str]) -> None:
        self.app = app
        self.conversation_channels = conversation_channels
        self.service = service
        self.directory = directory
        self._thread_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.edits = SlackEdits(service, directory, self.tell, conversation_channels)

    def register(self) -> None:
        app = self.app
        app.event("message")(self.on_message)
        for action_id in action_ids.MODE_BUTTONS:
            app.action(action_id)(self.on_mode_button)
        # "Open thread" on the App Home is a link button; Slack still sends its click, which needs an ack.
        app.action(re.compile(r"^open_thread_\d+$"))(self._ack_only)
        app.action(action_ids.FOR_ACTION[Action.TAKEOVER_AND_SEND])(self.on_takeover_and_send)
        app.action(action_ids.FOR_ACTION[Action.KEEP_AS_NOTE])(self.on_keep_as_note)
        app.shortcut(action_ids.TAKEOVER_SHORTCUT)(self.on_takeover_shortcut)

    async def on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") in EDIT_SUBTYPES:
            await self.edits.on_event(event)
            return
        if event.get("subtype") not in _REPLY_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        thread_ts, ts, channel = event.get("thread_ts"), event["ts"], event["channel"]
        if not thread_ts or thread_ts == ts:
            return  # top-level channel chatter, not a reply in a conversation thread
        # Bolt runs listeners concurrently; replies in one thread must reach the core in the order they came.
        if len(self._thread_locks) > 10_000:
            self._thread_locks = {k: v for k, v in self._thread_locks.items() if v.locked()}
        lock = self._thread_locks.setdefault((channel, thread_ts), asyncio.Lock())
        async with lock:
            await self._reply(event, channel, thread_ts, ts)

    async def _reply(self, event: dict[str, Any], channel: str, thread_ts: str, ts: str) -> None:
        text = event.get("text") or ""
        for user_id in set(_MENTION.findall(text)):
            await self.directory.name(user_id)
        tree = operator_markup(event, user_name=self.directory.cached_name)
        actor = await self.directory.actor(event["user"])
        files = shared_files(event)
        reply = OperatorMessage(Delivery("slack", f"message:{channel}:{ts}"), actor, channel, thread_ts, ts,
                                with_file_labels(markup.to_plain(tree), files), markup.to_html(tree),
                                files=files)
        outcome = await self.service.handle(reply)
        if outcome.unknown_thread and channel in self.conversation_channels:
            # A reply can overtake the recording of its thread's root (posted, not yet committed); the event
            # is already acknowledged, so waiting here costs Slack nothing.
            for delay in (0.05, 0.2, 0.5, 1.0, 2.0):
                await asyncio.sleep(delay)
                outcome = await self.service.handle(reply)
                if not outcome.unknown_thread:
                    break
        await self.tell(outcome, channel, event["user"], thread_ts)

    async def on_mode_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        actor = await self.directory.actor(body["user"]["id"])
        ref = ConversationRef(conversation_id=int(action["value"]))
        event_type = action_ids.MODE_BUTTONS[action["action_id"]]
        outcome = await self.service.handle(event_type(ref, actor, "button", delivery=delivery_of("action", body)))
        channel, thread_ts = _where(body)
        await self.tell(outcome, channel, actor.slack_user_id, thread_ts)

    async def _ack_only(self, ack: Any) -> None:
        await ack()

    async def on_takeover_and_send(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                                   respond: Any) -> None:
        await ack()
        conversation_id, _, note_ts = action["value"].partition(":")
        actor = await self.directory.actor(body["user"]["id"])
        outcome = await self.service.handle(TakeoverRequested(
            ConversationRef(conversation_id=int(conversation_id)), actor, "reply", send_note_ts=note_ts,
            delivery=delivery_of("action", body)))
        if outcome.duplicate:
            return
        if outcome.feedback:
            await respond(replace_original=True, text=reply_mrkdwn(outcome.feedback[0]))
        else:
            await respond(replace_original=True, text="You took over; your reply is on its way to the customer.")

    async def on_keep_as_note(self, ack: Any, respond: Any) -> None:
        await ack()
        await respond(replace_original=True, text="Kept as an internal note. The customer did not see it.")

    async def on_takeover_shortcut(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        actor = await self.directory.actor(body["user"]["id"])
        outcome = await self.service.handle(TakeoverRequested(
            ConversationRef(slack_thread=(channel, thread_ts)), actor, "shortcut",
            delivery=delivery_of("shortcut", body)))
        if outcome.changed and not outcome.feedback:
            outcome.tell(f"You took over conversation #{outcome.conversation_id}. Replies in its thread now "
                         "go to the customer.")
        await self.tell(outcome, channel, actor.slack_user_id, thread_ts)

    async def tell(self, outcome: Outcome, channel: str, user_id: str, thread_ts: str | None) -> None:
        for fb in outcome.feedback:
            text, fb_blocks = blocks.feedback(fb)
            try:
                if not channel:
                    # A button on the App Home tab has no channel: answer in the person's DM with the app.
                    await self.app.client.chat_postMessage(channel=user_id, text=text, blocks=fb_blocks)
                    continue
                await self.app.client.chat_postEphemeral(channel=channel, user=user_id, text=text,
                                                         blocks=fb_blocks, thread_ts=thread_ts)
            except SlackApiError as exc:
                log.warning("could not tell %s in %s: %s", user_id, channel, exc.response.get("error"))


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    message = body.get("message") or {}
    return channel, message.get("thread_ts") or message.get("ts")
