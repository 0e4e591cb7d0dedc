"""Which conversation an operator means, and what they are told when its state refuses their request."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.events import ConversationRef
from bot.core.states import Decision, Kind, Refusal
from bot.core.text import quote
from storage import conversations, customers
from storage.models import Conversation


async def resolve_ref(session: AsyncSession, ref: ConversationRef) -> Conversation | None:
    """The conversation an operator means: by number, by thread, or the customer's open (else latest) one."""
    if ref.conversation_id is not None:
        return await conversations.get(session, ref.conversation_id, lock=True)
    if ref.slack_thread is not None:
        # Locked like every path to a conversation that may change it: on PostgreSQL this row lock is
        # what makes two simultaneous takeovers (any instances) resolve to exactly one owner.
        return await conversations.get_by_thread(session, *ref.slack_thread, lock=True)
    customer = None
    if ref.customer_username is not None:
        customer = await customers.get_by_username(session, ref.customer_username)
    elif ref.tg_user_id is not None:
        customer = await customers.get_by_tg_user_id(session, ref.tg_user_id)
    if customer is None:
        return None
    return (await conversations.get_open_for_customer(session, customer.id or 0, lock=True)
            or await conversations.get_latest_for_customer(session, customer.id or 0))


def refusal_text(decision: Decision, conv: Conversation, kind: Kind) -> str:
    """What an operator is told when the conversation's state refuses what they asked."""
    refusal = decision.refusal
    owner = quote(conv.owner_name or "another operator")
    if refusal is Refusal.OWNED_BY_OTHER and kind is not Kind.TAKEOVER:
        verb = "hand it back" if kind is Kind.HANDBACK else "resolve it"
        return f"Conversation #{conv.id} is owned by {owner}: only {owner} or an admin can {verb}."
    if refusal is Refusal.OWNED_BY_OTHER:
        return f"Conversation #{conv.id} is already taken over by {owner}."
    if refusal is Refusal.ALREADY_YOURS:
        return f"You already have conversation #{conv.id}: reply in its thread to answer the customer."
    if refusal is Refusal.ALREADY_AGENT:
        return f"The agent is already answering conversation #{conv.id}."
    if refusal is Refusal.ALREADY_CLOSED:
        return (f"Conversation #{conv.id} is resolved. The customer's next message opens a new conversation."
                if kind is not Kind.RESOLVE else f"Conversation #{conv.id} is already resolved.")
    return f"Conversation #{conv.id} cannot do that now."
