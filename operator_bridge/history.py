"""History, search and export for operators: `/history <customer>`, `/baton search <text>`, the card's Export."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.core import transcript
from bot.core.access import Access
from bot.core.events import TranscriptExported
from bot.core.handles import Database
from bot.core.queries import customer_histories, search_messages
from bot.core.service import Service
from operator_bridge import blocks
from operator_bridge.links import Permalinks, linked

log = logging.getLogger(__name__)

NOT_OPERATOR = "Only Baton operators can read conversation history. Ask a Baton admin to add you."


class History:
    def __init__(self, app: AsyncApp, db: Database, access: Access, links: Permalinks, service: Service) -> None:
        self.app = app
        self.service = service
        self.db = db
        self.access = access
        self.links = links

    def register(self) -> None:
        self.app.command("/history")(self.on_history)
        self.app.action(blocks.EXPORT)(self.on_export)

    async def on_history(self, ack: Any, command: dict[str, Any]) -> None:
        if not self.access.is_operator(command["user_id"]):
            await ack(text=NOT_OPERATOR)
            return
        query = command.get("text", "").strip()
        if not query:
            await ack(text="Usage: `/history <customer>`: `@username`, a Telegram id, or a name.")
            return
        await ack(text=await self.history_text(query))

    async def history_text(self, query: str) -> str:
        rows = await customer_histories(self.db, query, customers_limit=5, conversations_limit=15)
        if not rows:
            return f"No customer matches `{blocks._esc(query)}`."
        out = []
        for customer, convs in rows:
            handle = f" (@{customer.username})" if customer.username else ""
            out.append(f"*{blocks._esc(customer.display_name)}*{blocks._esc(handle)} · Telegram id "
                       f"`{customer.tg_user_id}`" + (" · :no_entry: blocked" if customer.blocked else ""))
            for conv in convs:
                owner = f", {blocks._esc(conv.owner_name)}" if conv.owner_name else ""
                csat = f", CSAT {conv.csat_rating}/5" if conv.csat_rating else ""
                out.append(f"• {linked(conv, await self.links.of(conv))} {conv.opened_at:%Y-%m-%d %H:%M} UTC · "
                           f"{conv.mode}{owner}{csat}")
            if not convs:
                out.append("• no conversations yet")
        return "\n".join(out)[:3900]

    async def search_text(self, text: str) -> str:
        hits = await search_messages(self.db, text, limit=15)
        if not hits:
            return f"No message contains `{blocks._esc(text)}`."
        out = [f"*{len(hits)} message(s) containing* `{blocks._esc(text)}` (newest first):"]
        for message, conv, customer in hits:
            snippet = _snippet(message.text, text)
            out.append(f"• {linked(conv, await self.links.of(conv))} · {blocks._esc(customer.display_name)} · "
                       f"{message.created_at:%Y-%m-%d %H:%M} UTC · {message.author}: “{blocks._esc(snippet)}”")
        return "\n".join(out)[:3900]

    async def on_export(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        conversation_id = int(action["value"])
        conv, found = await transcript.load_for_export(self.db, conversation_id)
        channel = (body.get("channel") or {}).get("id") or ""
        if not self.access.is_operator(user) or conv is None or not found:
            text = NOT_OPERATOR if conv is not None else f"No conversation #{conversation_id}."
            await self._tell(channel, user, text, conv.slack_thread_ts if conv else None)
            return
        await self.service.handle(TranscriptExported(user, conversation_id))  # on the record before it leaves
        base = f"conversation-{conversation_id}"
        try:
            await self.app.client.files_upload_v2(
                channel=conv.slack_channel, thread_ts=conv.slack_thread_ts,
                initial_comment=f"Transcript of conversation #{conversation_id}, exported by <@{user}>.",
                file_uploads=[
                    {"content": transcript.as_text(found), "filename": f"{base}.txt", "title": f"{base}.txt"},
                    {"content": transcript.as_json(found), "filename": f"{base}.json", "title": f"{base}.json"},
                ])
        except SlackApiError as exc:
            log.warning("export of %s failed: %s", conversation_id, exc.response.get("error"))
            await self._tell(channel, user, f"The export failed: {exc.response.get('error')}.", conv.slack_thread_ts)

    async def _tell(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        try:
            await self.app.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.info("could not tell %s: %s", user, exc.response.get("error"))


def _snippet(text: str, needle: str, width: int = 60) -> str:
    at = text.lower().find(needle.lower())
    start = max(0, at - width) if at >= 0 else 0
    end = min(len(text), (at if at >= 0 else 0) + len(needle) + width)
    return ("…" if start else "") + text[start:end].replace("\n", " ") + ("…" if end < len(text) else "")
