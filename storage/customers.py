"""Named queries on customers."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Customer


async def get_by_tg_user_id(session: AsyncSession, tg_user_id: int) -> Customer | None:
    return (await session.exec(select(Customer).where(Customer.tg_user_id == tg_user_id))).first()


async def get_by_username(session: AsyncSession, username: str) -> Customer | None:
    stmt = select(Customer).where(Customer.username == username.lstrip("@"))
    return (await session.exec(stmt)).first()


async def get(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


# Built once (every customer message runs it): bound parameters instead of a new statement per call.
_BY_TG_USER_LOCKED = select(Customer).where(Customer.tg_user_id == bindparam("tg_user_id")).with_for_update()


async def upsert_from_telegram(
    session: AsyncSession, *, tg_user_id: int, tg_chat_id: int, first_name: str,
    last_name: str | None, username: str | None, language: str | None,
) -> Customer:
    """The customer as Telegram describes them now; a message from them also means they can be reached."""
    # Locked: a customer's events are handled one at a time even across instances (PostgreSQL), so two
    # messages cannot both find no open conversation and open two threads.
    customer = (await session.exec(_BY_TG_USER_LOCKED, params={"tg_user_id": tg_user_id})).first()
    new = customer is None
    if customer is None:
        customer = Customer(tg_user_id=tg_user_id, tg_chat_id=tg_chat_id)
    now = {"tg_chat_id": tg_chat_id, "first_name": first_name, "last_name": last_name, "username": username,
           "language": language or customer.language, "unreachable": False}
    # Only what changed is set: a customer Telegram describes as before (nearly every message) leaves
    # nothing for the unit of work to compare and write.
    changed = {name: value for name, value in now.items() if getattr(customer, name) != value}
    for name, value in changed.items():
        setattr(customer, name, value)
    if new or changed:
        session.add(customer)
        await session.flush()
    return customer
