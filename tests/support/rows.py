"""Rows a storage or core test starts from, written with the ORM as the application writes them."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, Customer


async def customer_with_conversation(session: AsyncSession, *, tg_user_id: int, first_name: str = "Ann",
                                     **conversation: Any) -> tuple[Customer, Conversation]:
    """A customer (chat id = user id) and a conversation of theirs (`conversation`: its other columns), flushed,
    so both have ids."""
    customer = Customer(tg_user_id=tg_user_id, tg_chat_id=tg_user_id, first_name=first_name)
    session.add(customer)
    await session.flush()
    conv = Conversation(customer_id=customer.id or 0, **conversation)
    session.add(conv)
    await session.flush()
    return customer, conv
