"""Small pure helpers the service uses on rows: a customer's message row, the waiting-for-a-human mark,
the state a conversation row is in for the transition table, and a stored row's id."""

from __future__ import annotations

from datetime import datetime

from bot.core.events import CustomerMessage
from bot.core.states import Mode, State
from storage.models import Conversation, Customer, Message


def customer_row(conv: Conversation, event: CustomerMessage, now: datetime) -> Message:
    message = Message(conversation_id=row_id(conv), author="customer", kind=event.kind, text=event.text,
                      html=event.html, tg_message_id=event.tg_message_id, created_at=now,
                      media_group_id=event.media_group_id)
    if event.file is not None:
        message.tg_file_id, message.file_name = event.file.file_id, event.file.file_name
        message.mime_type, message.file_size = event.file.mime_type, event.file.file_size
    return message


def mark_needs_human(conv: Conversation, reason: str, now: datetime) -> None:
    conv.needs_human = True
    conv.needs_human_reason = reason
    conv.needs_human_since = now


def state_of(conv: Conversation | None) -> State:
    if conv is None:
        return State(Mode.NONE)
    return State(Mode(conv.mode), conv.owner_slack_user_id, conv.needs_human)


def row_id(row: Customer | Conversation | Message) -> int:
    assert row.id is not None
    return row.id


def apply_mode(conv: Conversation, state: State, actor_name: str, now: datetime) -> None:
    """The conversation row after a mode change decided by the transition table."""
    conv.mode = state.mode.value
    conv.mode_since = now
    conv.owner_slack_user_id = state.owner
    conv.owner_name = actor_name if state.owner else None
    # Any mode change answers a pending "needs a human": someone has acted on the conversation.
    conv.needs_human = False
    conv.needs_human_reason = None
    conv.needs_human_since = None
    conv.owner_active_at = now if state.owner else None
    conv.idle_warned_at = None
    if state.mode is Mode.CLOSED:
        conv.closed_at = now
