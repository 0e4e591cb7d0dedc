"""Slash commands: /takeover, /handback, /resolve and /baton. Slack allows none of them inside threads."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.events import HandbackRequested, Outcome, ResolveRequested, TakeoverRequested
from bot.core.handles import Database
from bot.core.queries import open_with_customers
from bot.core.service import Service
from operator_bridge import blocks
from operator_bridge.admin import AdminCommands
from operator_bridge.campaigns import WORDS as CAMPAIGN_WORDS
from operator_bridge.campaigns import CampaignSlack
from operator_bridge.directory import Directory
from operator_bridge.refs import RefError, parse_ref
from operator_bridge.replays import delivery_of
from operator_bridge.replies_out import replies_mrkdwn

log = logging.getLogger(__name__)

NOT_OPERATOR_LIST = "Only Baton operators can list and take over conversations. Ask a Baton admin to add you."

class SlashCommands:
    def __init__(self, app: AsyncApp, service: Service, directory: Directory, db: Database,
                 admin: AdminCommands, campaigns: CampaignSlack | None = None) -> None:
        self.app = app
        self.admin = admin
        self.campaigns = campaigns
        self.service = service
        self.directory = directory
        self.db = db

    def register(self) -> None:
        self.app.command("/takeover")(self.on_takeover)
        self.app.command("/handback")(self.on_mode_command)
        self.app.command("/resolve")(self.on_mode_command)
        self.app.command("/baton")(self.on_baton)

    async def on_takeover(self, ack: Any, command: dict[str, Any]) -> None:
        if not command.get("text", "").strip():
            # The list names customers and why they wait: for operators only, like /history.
            if not self.service.access.is_operator(command["user_id"]):
                await ack(text=NOT_OPERATOR_LIST)
                return
            text, rows = blocks.waiting_list(await self._open_rows())
            await ack(text=text, blocks=rows)
            return
        await self.on_mode_command(ack, command)

    async def on_mode_command(self, ack: Any, command: dict[str, Any]) -> None:
        name = command["command"]
        try:
            ref = parse_ref(command.get("text", ""))
        except RefError as exc:
            await ack(text=f"{exc}\nUsage: `{name} <ref>`")
            return
        actor = await self.directory.actor(command["user_id"])
        event_type = {"/takeover": TakeoverRequested, "/handback": HandbackRequested,
                      "/resolve": ResolveRequested}[name]
        outcome = await self.service.handle(event_type(ref, actor, "command", delivery=delivery_of("command", command)))
        await ack(text=_answer(outcome, name))

    async def on_baton(self, ack: Any, command: dict[str, Any]) -> None:
        words = command.get("text", "").split()
        if words[:1] and words[0] in CAMPAIGN_WORDS and self.campaigns is not None:
            return await self.campaigns.on_command(ack, command, words)
        await self.admin.on_baton(ack, command)

    async def _open_rows(self) -> list[blocks.WaitingRow]:
        rows = []
        for conv, customer in await open_with_customers(self.db, limit=20):
            assert conv.id is not None
            rows.append(blocks.WaitingRow(conv.id, customer.display_name if customer else "?", conv.mode,
                                          conv.needs_human, conv.needs_human_reason, conv.mode_since, None))
        return rows


def _answer(outcome: Outcome, command: str) -> str:
    if outcome.duplicate:
        return "This command was already handled."
    if outcome.feedback:
        return replies_mrkdwn(outcome.feedback)
    number = f"#{outcome.conversation_id}"
    return {"/takeover": f"You took over conversation {number}. Replies in its thread now go to the customer.",
            "/handback": f"Conversation {number} is back with the agent.",
            "/resolve": f"Conversation {number} is resolved."}[command]
