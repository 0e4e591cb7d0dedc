"""Baton wired to the sandbox servers, with helpers that read like what people do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.agent.base import Agent
from bot.app import Baton
from bot.config import Settings, parse_settings
from bot.core.ports import Clock
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram
from tests.support import databases

CHANNEL = "C0SUPPORT"
ALICE, BOB, EVE, ADMIN = "U0ALICE", "U0BOB", "U0EVE", "U0ADMIN"
WEBHOOK_SECRET = "test-webhook-secret"


def build_settings(tg: FakeTelegram, fake_slack: FakeSlack, tmp_path: Path, **overrides: Any) -> Settings:
    slack = fake_slack
    data: dict[str, Any] = {
        # Generous budgets: pacing has its own tests; the rest should not wait on it.
        "telegram": {"token": tg.token, "api_url": tg.url, "poll_timeout": 1, "per_chat_per_second": 100,
                     "per_chat_burst": 100, "overall_per_second": 1000},
        "slack": {"bot_token": slack.bot_token, "app_token": slack.app_token, "signing_secret": slack.signing_secret,
                  "api_url": slack.api_url, "channel": CHANNEL, "per_channel_per_second": 100,
                  "per_channel_burst": 100, "tier3_per_minute": 60000,
                  "spool_path": str(tmp_path / "slack-spool.db")},
        "server": {"host": "127.0.0.1", "port": 0},
        "storage": {"url": databases.url_for(tmp_path)},
        "agent": {"backend": "faq", "knowledge_base": str(tmp_path / "knowledge.md")},
        "access": {"operators": [ALICE, BOB], "admins": [ADMIN]},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return parse_settings(data, env={})


@dataclass
class World:
    tg: FakeTelegram
    slack: FakeSlack
    tmp_path: Path
    agent: Agent
    baton: Baton | None = None
    clock: Clock | None = None  # Baton's clock; a test may set one it can move (ShiftedClock)

    def settings(self, **overrides: Any) -> Settings:
        return build_settings(self.tg, self.slack, self.tmp_path, **overrides)

    async def start(self, **overrides: Any) -> Baton:
        settings = self.settings(**overrides)
        # A database at the current schema without migrating in every test (see tests/support/databases.py).
        # Baton still runs its migrations at start; on an up-to-date database that is a quick no-op.
        await databases.prepare(settings.storage.url)
        # In HTTP mode Bolt needs the URL before Slack can call it; the port is known only after start.
        self.slack.events_url = None
        baton = Baton(settings, agent=self.agent, clock=self.clock, retry_base_seconds=0.01)
        await baton.start()
        if settings.slack.mode == "http":
            self.slack.events_url = f"http://127.0.0.1:{baton.port}/slack/events"
        self.baton = baton
        return baton

    async def stop(self) -> None:
        if self.baton is not None:
            await self.baton.stop()
            self.baton = None

    # --- what people see -------------------------------------------------------------------------

    def roots(self) -> list[dict[str, Any]]:
        return self.slack.messages(CHANNEL)

    async def taken_over(self, customer: int = 1001, question: str = "How long does shipping take?",
                         operator: str = ALICE) -> dict[str, Any]:
        """Started; `customer` asked `question`, the agent answered, `operator` took the thread over and the
        customer was told: two messages reached them. The thread's root."""
        await self.start()
        await self.tg.customer_sends(customer, question)
        root = await self.root()
        await self.tg.wait_for_messages(customer, 1)
        await self.slack.click_button(operator, CHANNEL, root["ts"], "takeover")
        await self.tg.wait_for_messages(customer, 2)
        return root

    async def root(self, index: int = 0) -> dict[str, Any]:
        return await self.slack.wait_for(lambda: len(self.roots()) > index and self.roots()[index],
                                         what=f"thread root #{index + 1}")

    async def thread_has(self, root_ts: str, needle: str, *, count: int = 1) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]] | None:
            hits = [m for m in self.slack.thread(CHANNEL, root_ts) if needle in (m.get("text") or "")]
            return hits if len(hits) >= count else None

        return await self.slack.wait_for(found, what=f"{needle!r} in thread {root_ts}")

    async def card_says(self, root_ts: str, needle: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            message = self.slack.message(CHANNEL, root_ts)
            return message if needle in card_text(message) else None

        return await self.slack.wait_for(found, what=f"card saying {needle!r}")

    async def ephemeral_to(self, user: str, needle: str) -> Any:
        return await self.slack.wait_for(
            lambda: next((e for e in self.slack.ephemerals if e.user == user and needle in (e.text or "")), None),
            what=f"ephemeral to {user} containing {needle!r}")


class ShiftedClock(Clock):
    """The wall clock plus `offset`: lets a test make Baton see a reply as days old."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset


def card_text(message: dict[str, Any]) -> str:
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key].get("text", ""))
        for field in [*(block.get("fields") or []), *(block.get("elements") or [])]:
            if isinstance(field.get("text"), str):
                parts.append(field["text"])
    return "\n".join(parts)


def button_ids(message: dict[str, Any]) -> list[str]:
    return [el["action_id"] for block in message.get("blocks") or [] if block.get("type") == "actions"
            for el in block.get("elements", [])]
