"""What an edit, deletion or correction did, recorded after delivery (called from settle)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core.edits import not_deleted_note
from bot.core.ports import Delivered, Failed
from bot.core.text import quote
from storage import conversations, messages, outbox
from storage.models import OutboxItem

KINDS = frozenset({fx.EDIT, fx.DELETE, fx.CORRECTION, fx.EDIT_MIRROR})


async def delivered(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime) -> None:
    # The message keeps the Telegram id of the original: later edits and deletions still aim at it,
    # not at the correction.
    if item.kind != fx.CORRECTION or result.skipped or item.conversation_id is None:
        return
    conv = await conversations.get(session, item.conversation_id)
    if conv is not None:
        why = outbox.payload_of(item).get("why") or "Telegram would not change it"
        fx.slack(session, conv, fx.NOTE, now=now, text=f":pencil2: The customer's copy could not be edited "
                                                       f"({quote(why)}), so Baton sent the new text as a correction.")


async def failed(session: AsyncSession, item: OutboxItem, result: Failed, now: datetime) -> bool:
    """Handle the failure if it is an edit's; False leaves it to the general handling."""
    if item.destination != fx.TELEGRAM or item.kind not in (fx.EDIT, fx.DELETE):
        return False
    conv = await conversations.get(session, item.conversation_id) if item.conversation_id else None
    message = await messages.get(session, item.message_id) if item.message_id else None
    if conv is None or message is None:
        return False
    if item.kind == fx.EDIT:
        if not result.not_editable:
            return False  # e.g. blocked: the usual ⚠️ and note say why
        # Say it anew instead, in the same lane, so it still follows everything sent before.
        outbox.enqueue(session, destination=fx.TELEGRAM, lane=item.lane, kind=fx.CORRECTION,
                       conversation_id=conv.id, message_id=message.id, now=now,
                       payload={"html": outbox.payload_of(item).get("html", message.html), "why": result.reason})
        return True
    fx.slack(session, conv, fx.NOTE, now=now, text=not_deleted_note(message.author_name or "An operator",
                                                                    result.reason))
    return True
