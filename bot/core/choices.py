"""The agent's clarifying question: when it is sure the customer means one of a few knowledge-base entries
but not which, it asks with a button per entry and one for a person. A press comes back as a customer
message (see CustomerMessage.picked) so the usual loop answers it or hands off."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import effects as fx
from bot.core import notes
from bot.core.agent_port import AgentReply
from bot.core.settings import TextSettings
from bot.core.states import Decision, Effect
from storage.models import Conversation, Customer, Message

MAX_CHOICES = 3


async def agent_asks(session: AsyncSession, conv: Conversation, customer: Customer, reply: AgentReply,
                     decision: Decision, *, texts: TextSettings, now: datetime) -> None:
    """The question is stored and mirrored like any answer; the thread also shows the choices and why."""
    question = fx.customer_text(texts, "which_one", customer)
    person = fx.customer_text(texts, "talk_to_person", customer)
    assert conv.id is not None
    labels = [choice.label for choice in reply.choices[:MAX_CHOICES]]
    message = Message(conversation_id=conv.id, author="agent", text=question,
                      html=html.escape(question, quote=False), created_at=now)
    session.add(message)
    await session.flush()
    conv.last_reply_at = now
    session.add(conv)
    # The buttons go out instead of the plain delivery.
    asking = replace(decision, effects=tuple(e for e in decision.effects if e is not Effect.DELIVER_AGENT))
    await fx.apply(session, asking, conv, customer, message=message, texts=texts, now=now)
    fx.offer_choices(session, customer, conv, message, labels, person, now=now)
    fx.note(session, conv, notes.ChoicesOffered(tuple(labels), person, reply.context or None), now=now)
