"""The agent as an outbox destination: ask it outside any transaction; its answer is an event the dispatcher
handles in the transaction that settles the ask (one commit, and no second answer after a crash)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.core import effects as fx
from bot.core.agent_port import Agent, AgentError, AgentReply, AgentRequest, CustomerProfile
from bot.core.events import AgentReplied
from bot.core.outbox_kinds import Bare
from bot.core.outbox_routes import Route, Routes
from bot.core.ports import Delivered, Loaded, Observer, Result
from bot.core.service import Service
from storage.models import OutboxItem

log = logging.getLogger(__name__)

HOLDING_ON_FAILURE = "Thanks for your message. A colleague will get back to you here shortly."
# Telegram shows "typing…" for five seconds or until the next message: refreshed a little sooner.
TYPING_REFRESH_SECONDS = 4.5


class AgentWorker:
    destination = fx.AGENT

    def __init__(self, service: Service, agent: Agent, *, timeout: float = 30.0,
                 typing: Callable[[int], Awaitable[None]] | None = None, typing_after: float = 0.5,
                 observer: Observer | None = None) -> None:
        self.service = service
        self.observer = observer or Observer()
        self.agent = agent
        self.timeout = timeout
        # Shows the customer that an answer is coming (Telegram's "typing…"); best effort. Only for an
        # agent that takes a noticeable time (an LLM): an instant answer needs no indicator, and skipping
        # it saves a Bot API call per message.
        self.typing = typing
        self.typing_after = typing_after
        self.routes = Routes(fx.AGENT, Route(fx.ASK, self._ask_agent))

    async def deliver(self, item: OutboxItem, loaded: Loaded) -> Result:
        return await self.routes.deliver(item, loaded)

    async def _ask_agent(self, item: OutboxItem, payload: Bare, loaded: Loaded) -> Result:
        """The claim loaded the history and the brief (bot/core/claim.py): asking needs no transaction."""
        assert item.conversation_id is not None and item.message_id is not None
        conv, customer = loaded.conversation, loaded.customer
        if conv is None or conv.mode != "agent":
            return Delivered(skipped="no longer the agent's conversation")
        if loaded.superseded:
            # A newer question is queued behind this one; answering that answers both.
            return Delivered(skipped="superseded by a newer customer message")
        assert customer is not None
        request = AgentRequest(
            conversation_id=item.conversation_id,
            customer=CustomerProfile(customer.display_name, customer.username, customer.language),
            brief=loaded.brief,
            history=list(loaded.history),
        )
        reply = await self._ask_showing_typing(request, customer.tg_chat_id)
        return Delivered(then=AgentReplied(item.conversation_id, item.message_id, reply))

    async def _ask_showing_typing(self, request: AgentRequest, chat_id: int) -> AgentReply:
        asking = asyncio.ensure_future(self._ask(request))
        try:
            delay = self.typing_after
            while self.typing is not None:
                done, _ = await asyncio.wait({asking}, timeout=delay)
                if done:
                    break
                try:
                    await self.typing(chat_id)
                except Exception as exc:
                    log.debug("typing indicator failed: %s", exc)
                delay = TYPING_REFRESH_SECONDS
            return await asking
        finally:
            asking.cancel()  # a no-op once answered; a stop while waiting must not leave the call running

    async def _ask(self, request: AgentRequest) -> AgentReply:
        started = time.perf_counter()
        failed = True
        try:
            reply = await asyncio.wait_for(self.agent.reply(request), timeout=self.timeout)
            failed = False
            return reply
        except TimeoutError:
            log.warning("conversation %s: agent timed out after %ss", request.conversation_id, self.timeout)
            return AgentReply(HOLDING_ON_FAILURE, 0.0, f"the agent did not answer within {self.timeout:g}s")
        except Exception as exc:
            log.exception("conversation %s: agent failed", request.conversation_id)
            # Only an AgentError's message is meant for operators; anything else may carry internals.
            detail = str(exc) if isinstance(exc, AgentError) else type(exc).__name__
            return AgentReply(HOLDING_ON_FAILURE, 0.0, f"the agent failed ({detail})")
        finally:
            # A failure hands off too (the holding text); `failed` tells the two apart.
            handoff = failed or reply.handoff_reason is not None
            self.observer.agent_answered(time.perf_counter() - started, handoff=handoff, failed=failed)
