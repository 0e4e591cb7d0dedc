"""Named queries on campaigns and their recipients."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.direct import Direct
from storage.ids import as_id
from storage.models import Campaign, CampaignRecipient, Conversation, Customer

AUDIENCES = ("all", "tag", "language", "active", "ids")
ACTIVE = ("scheduled", "sending")


def normalise_tag(tag: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", tag.strip().lower())


# Any run of digits is meant as one id (a header row has none); a minus sign is kept to be refused.
_ID_TOKEN = re.compile(r"(?<![\w.])-?\d{3,}(?![\w.])")


def parse_ids(text: str) -> list[int]:
    """Telegram ids pasted or exported as CSV, in order, once each. Numbers no Telegram account can have
    (negative, beyond 64 bits) are left out: the form refuses them (first_bad_id) before a campaign exists."""
    seen: dict[int, None] = {}
    for token in _ID_TOKEN.findall(text):
        if (tg_id := as_id(token)) is not None:
            seen[tg_id] = None
    return list(seen)


def first_bad_id(text: str) -> tuple[int, str] | None:
    """(line number, the number as written) of the first number in `text` that cannot be a Telegram id."""
    for number, line in enumerate(text.splitlines(), 1):
        for token in _ID_TOKEN.findall(line):
            if as_id(token) is None:
                return number, token
    return None


async def failure_reasons(session: AsyncSession, campaign_id: int, *, limit: int = 3) -> list[tuple[str, int]]:
    """The most frequent reasons recipients failed, with how many each."""
    n = func.count().label("n")
    stmt = (select(CampaignRecipient.error, n)
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "failed")
            .group_by(CampaignRecipient.error).order_by(n.desc()).limit(limit))
    return [(str(error or "unknown"), int(count)) for error, count in (await session.exec(stmt)).all()]


async def get(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)


async def find_recent(session: AsyncSession, *, limit: int = 15) -> Sequence[Campaign]:
    return (await session.exec(select(Campaign).order_by(col(Campaign.id).desc()).limit(limit))).all()


async def due_to_start(session: AsyncSession, now: datetime) -> Sequence[Campaign]:
    stmt = select(Campaign).where(Campaign.status == "scheduled", col(Campaign.send_at) <= now)
    return (await session.exec(stmt.order_by(col(Campaign.send_at)))).all()


async def next_start(session: AsyncSession) -> datetime | None:
    stmt = select(func.min(Campaign.send_at)).where(Campaign.status == "scheduled")
    return (await session.exec(stmt)).one()


async def find_sending(session: AsyncSession) -> Sequence[Campaign]:
    stmt = select(Campaign).where(Campaign.status == "sending").order_by(col(Campaign.id))
    return (await session.exec(stmt)).all()


async def audience_ids(session: AsyncSession, audience: str, value: str, now: datetime) -> list[int]:
    """Customer ids the audience names right now (opted-out customers included: they are skipped, visibly)."""
    stmt = select(Customer.id)
    if audience == "tag":
        stmt = stmt.where(col(Customer.tags).like(f"%,{normalise_tag(value)},%"))
    elif audience == "language":
        code = value.strip().lower()
        stmt = stmt.where(or_(func.lower(Customer.language) == code, func.lower(Customer.language).like(f"{code}-%")))
    elif audience == "active":
        since = now - timedelta(days=float(value))
        recent = select(Conversation.customer_id).where(col(Conversation.last_customer_message_at) >= since)
        stmt = stmt.where(or_(col(Customer.id).in_(recent), col(Customer.created_at) >= since))
    elif audience == "ids":
        ids = parse_ids(value)
        known = {c.tg_user_id: c.id for c in (await session.exec(
            select(Customer).where(col(Customer.tg_user_id).in_(ids)))).all()}
        for tg_id in ids:
            if tg_id not in known:
                # Someone Baton has not heard from yet (an imported list): in a private chat, chat id = user id.
                customer = Customer(tg_user_id=tg_id, tg_chat_id=tg_id, created_at=now)
                session.add(customer)
                await session.flush()
                known[tg_id] = customer.id
        return [i for i in known.values() if i is not None]
    return [i for i in (await session.exec(stmt.order_by(col(Customer.id)))).all() if i is not None]


async def add_recipients(session: AsyncSession, campaign_id: int, customer_ids: list[int]) -> None:
    for customer_id in customer_ids:
        session.add(CampaignRecipient(campaign_id=campaign_id, customer_id=customer_id))
    await session.flush()


async def next_pending(session: AsyncSession, campaign_id: int, *, limit: int = 1
                       ) -> list[tuple[CampaignRecipient, Customer]]:
    """The campaign's first recipients not yet queued for sending, each with the customer."""
    stmt = (select(CampaignRecipient, Customer).join(Customer, col(Customer.id) == CampaignRecipient.customer_id)
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending")
            .order_by(col(CampaignRecipient.id)).limit(limit))
    return [(row[0], row[1]) for row in (await session.exec(stmt)).all()]


async def unsent(session: AsyncSession, campaign_id: int) -> int:
    """How many of the campaign's recipients are still to be sent to (not queued yet, or queued)."""
    stmt = (select(func.count()).select_from(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id,
                   col(CampaignRecipient.status).in_(["pending", "queued"])))
    return int((await session.exec(stmt)).one())


async def counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    stmt = (select(CampaignRecipient.status, func.count()).where(CampaignRecipient.campaign_id == campaign_id)
            .group_by(CampaignRecipient.status))
    return {status: int(n) for status, n in (await session.exec(stmt)).all()}


async def replies(session: AsyncSession, campaign_id: int, *, limit: int = 20) -> Sequence[Conversation]:
    stmt = (select(Conversation).where(Conversation.campaign_id == campaign_id)
            .order_by(col(Conversation.id).desc()).limit(limit))
    return (await session.exec(stmt)).all()


async def count_replies(session: AsyncSession, campaign_id: int) -> int:
    stmt = select(func.count()).select_from(Conversation).where(Conversation.campaign_id == campaign_id)
    return int((await session.exec(stmt)).one())


# Built once: every customer message asks it.
_UNANSWERED = Direct(select(CampaignRecipient.id)
               .where(CampaignRecipient.customer_id == bindparam("customer_id"), CampaignRecipient.status == "sent",
                      col(CampaignRecipient.sent_at) >= bindparam("since"),
                      col(CampaignRecipient.conversation_id).is_(None))
               .order_by(col(CampaignRecipient.sent_at).desc()).limit(1))


async def unanswered_receipt(session: AsyncSession, customer_id: int, since: datetime) -> CampaignRecipient | None:
    """The latest campaign this customer received since `since` and has not replied to yet."""
    # Its id first: almost every customer message finds none, and a plain row is cheap to ask for.
    found = await _UNANSWERED.first(session, {"customer_id": customer_id, "since": since})
    return await session.get(CampaignRecipient, found[0]) if found is not None else None


def tags_of(customer: Customer) -> list[str]:
    return [t for t in customer.tags.split(",") if t]


def set_tags(customer: Customer, tags: list[str]) -> None:
    unique = sorted({normalise_tag(t) for t in tags} - {""})
    customer.tags = f",{','.join(unique)}," if unique else ""
