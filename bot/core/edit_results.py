"""What an edit, deletion or correction did, recorded after delivery (settle's tables name these)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core import notes
from bot.core import outbox_kinds as k
from bot.core.ports import Delivered, Failed, Loaded
from storage import conversations, messages
from storage.models import Conversation, Message, OutboxItem


async def correction_sent(session: AsyncSession, item: OutboxItem, result: Delivered, now: datetime,
                          loaded: Loaded | None) -> str | None:
    # The message keeps the Telegram id of the original: later edits and deletions still aim at it,
    # not at the correction.
    if item.conversation_id is None:
        return None
    conv = await conversations.get(session, item.conversation_id)
    if conv is not None:
        why = payload_for(item, loaded, k.CORRECTION).why or "Telegram would not change it"
        fx.note(session, conv, notes.SentAsCorrection(why), now=now)
    return None


async def edit_failed(session: AsyncSession, item: OutboxItem, result: Failed, now: datetime,
                      loaded: Loaded | None) -> bool:
    """Handled (True), or left to the general handling of a failed delivery (False)."""
    found = await _rows(session, item)
    if found is None or not result.not_editable:
        return False  # e.g. blocked: the usual ⚠️ and note say why
    conv, message = found
    # Say it anew instead, in the same lane, so it still follows everything sent before.
    html = payload_for(item, loaded, k.EDIT).html
    k.enqueue(session, k.CORRECTION, k.Correction(html=message.html if html is None else html, why=result.reason),
              lane=item.lane, conversation_id=conv.id, message_id=message.id, now=now)
    return True


async def delete_failed(session: AsyncSession, item: OutboxItem, result: Failed, now: datetime,
                        loaded: Loaded | None) -> bool:
    found = await _rows(session, item)
    if found is None:
        return False
    conv, message = found
    fx.note(session, conv, notes.NotDeleted(message.author_name or "An operator", result.reason), now=now)
    return True


async def _rows(session: AsyncSession, item: OutboxItem) -> tuple[Conversation, Message] | None:
    conv = await conversations.get(session, item.conversation_id) if item.conversation_id else None
    message = await messages.get(session, item.message_id) if item.message_id else None
    return (conv, message) if conv is not None and message is not None else None


def payload_for(item: OutboxItem, loaded: Loaded | None, kind: k.Kind[k.P]) -> k.P:
    """The row's typed payload: the claim's, or parsed now (a row settled without its claim's context)."""
    if loaded is not None and isinstance(loaded.payload, kind.payload):
        return loaded.payload
    return k.parse(item, kind)
