"""Slash commands: /takeover, /handback, /resolve and /baton. Slack allows none of them inside threads."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import __version__
from bot.core.events import HandbackRequested, Outcome, ResolveRequested, TakeoverRequested
from bot.core.service import Service
from operator_bridge import blocks
from operator_bridge.campaigns import WORDS as CAMPAIGN_WORDS
from operator_bridge.campaigns import CampaignSlack
from operator_bridge.directory import Directory
from operator_bridge.refs import RefError, parse_ref
from storage import conversations, customers, outbox
from storage.db import Database

log = logging.getLogger(__name__)

HELP = """*Baton commands*
• `/takeover` — list open conversations, those waiting for a human first, each with a *Take over* button
• `/takeover <ref>` — take over a conversation: `#12`, `@username`, a Telegram user id or a thread link
• `/handback <ref>` — hand a conversation back to the agent
• `/resolve <ref>` — close a conversation
• `/baton status` — health and numbers
In a conversation's thread: the card's buttons, or the message shortcut *Take over conversation*."""


class SlashCommands:
    def __init__(self, app: AsyncApp, service: Service, directory: Directory, db: Database,
                 campaigns: CampaignSlack | None = None) -> None:
        self.app = app
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
        outcome = await self.service.handle(event_type(ref, actor, "command"))
        await ack(text=_answer(outcome, name))

    async def on_baton(self, ack: Any, command: dict[str, Any]) -> None:
        words = command.get("text", "").split()
        if words[:1] and words[0] in CAMPAIGN_WORDS and self.campaigns is not None:
            return await self.campaigns.on_command(ack, command, words)
        if words[:1] == ["status"]:
            if not self.service.access.is_admin(command["user_id"]):
                await ack(text="Only Baton admins can use `/baton status`.")
                return
            async with self.db.transaction() as session:
                open_rows = await conversations.find_open(session, limit=1000)
                backlog = await outbox.count_pending(session)
            by_mode = {"agent": 0, "human": 0}
            for conv in open_rows:
                by_mode[conv.mode] = by_mode.get(conv.mode, 0) + 1
            waiting = sum(1 for c in open_rows if c.needs_human)
            await ack(text=f"*Baton {__version__}* is running.\nOpen conversations: {by_mode['agent']} with the "
                           f"agent ({waiting} waiting for a human), {by_mode['human']} taken over.\n"
                           f"Outbox backlog: {backlog}.")
            return
        await ack(text=HELP)

    async def _open_rows(self) -> list[blocks.WaitingRow]:
        async with self.db.transaction() as session:
            rows = []
            for conv in await conversations.find_open(session, limit=20):
                customer = await customers.get(session, conv.customer_id)
                assert conv.id is not None
                rows.append(blocks.WaitingRow(conv.id, customer.display_name if customer else "?", conv.mode,
                                              conv.needs_human, conv.needs_human_reason, conv.mode_since, None))
        return rows


def _answer(outcome: Outcome, command: str) -> str:
    if outcome.feedback:
        return "\n".join(fb.text for fb in outcome.feedback)
    number = f"#{outcome.conversation_id}"
    return {"/takeover": f"You took over conversation {number}. Replies in its thread now go to the customer.",
            "/handback": f"Conversation {number} is back with the agent.",
            "/resolve": f"Conversation {number} is resolved."}[command]
