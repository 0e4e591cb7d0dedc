"""The App Home tab: a live dashboard of conversations and alerts for operators, an explanation for others.

Published on `app_home_opened` and again when conversations change, but only for people who opened Home
recently and at most once per user per `min_interval` seconds: Slack limits views.publish per user."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.core.access import Access
from bot.core.admin_ops import sync_access
from bot.core.handles import Database
from bot.core.ports import Clock
from bot.core.queries import home_snapshot
from bot.core.stats import _aware, duration
from bot.core.workers import Worker
from operator_bridge import blocks as b
from operator_bridge.links import Permalinks, linked

log = logging.getLogger(__name__)

MAX_BLOCKS = 100
ROWS_PER_SECTION = 25  # 3 sections × 25 rows + headers stays under Slack's 100-block limit
RECENT_SECONDS = 30 * 60  # someone who opened Home within this long still gets live refreshes


class AppHome:
    def __init__(self, app: AsyncApp, db: Database, access: Access, links: Permalinks, clock: Clock, *,
                 admins_hint: str = "", min_interval: float = 3.0) -> None:
        self.app = app
        self.db = db
        self.access = access
        self.links = links
        self.clock = clock
        self.admins_hint = admins_hint
        self.min_interval = min_interval
        self._opened: dict[str, float] = {}  # user → when they last opened Home (monotonic)
        self._published: dict[str, float] = {}  # user → when their view was last published
        # Pokes while a refresh is due or being published are folded into it.
        self._due = False
        self.worker = Worker("slack-app-home", self._refresh)

    def start(self) -> None:
        self.worker.start(first_in=None)  # refreshes only when poked

    def register(self) -> None:
        self.app.event("app_home_opened")(self.on_opened)

    async def on_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        self._opened[user] = time.monotonic()
        await self.publish([user])

    def poke(self) -> None:
        """Conversations changed: refresh recent visitors' views soon, coalescing bursts of changes."""
        now = time.monotonic()
        self._opened = {u: t for u, t in self._opened.items() if now - t < RECENT_SECONDS}
        if not self._opened or self._due:
            return
        self._due = True
        self.worker.wake()

    async def _refresh(self) -> float | None:
        if not self._due:
            return None
        last = max((self._published.get(u, 0.0) for u in self._opened), default=0.0)
        wait = last + self.min_interval - time.monotonic()
        if wait > 0:
            return wait  # Slack limits views.publish per user: this step runs again then
        try:
            await self.publish(list(self._opened))
        except Exception:  # a refresh is best effort; the next change or visit publishes again
            log.exception("App Home refresh failed")
        finally:
            self._due = False
        return None

    async def stop(self) -> None:
        await self.worker.stop(grace=0)

    async def publish(self, users: Iterable[str]) -> None:
        users = list(users)
        with contextlib.suppress(Exception):  # stale lists at worst; the next Slack request syncs again
            await sync_access(self.db, self.access)
        dashboard: list[dict[str, Any]] | None = None
        for user in users:
            if self.access.is_operator(user):
                dashboard = dashboard if dashboard is not None else await self.dashboard()
                view_blocks = dashboard
            else:
                view_blocks = self.explanation()
            self._published[user] = time.monotonic()
            try:
                await self.app.client.views_publish(user_id=user, view={"type": "home", "blocks": view_blocks})
            except SlackApiError as exc:
                log.info("views.publish for %s failed: %s", user, exc.response.get("error"))

    def explanation(self) -> list[dict[str, Any]]:
        ask = self.admins_hint or "a Baton admin"
        return [
            {"type": "header", "text": {"type": "plain_text", "text": "Baton: customer support from Slack"}},
            {"type": "section", "text": {"type": "mrkdwn", "text":
                "Customers write to our Telegram bot. An automated agent answers first, and every conversation "
                "is mirrored into its own thread in the support channel, where operators can take over, reply, "
                "hand back to the agent and resolve."}},
            {"type": "section", "text": {"type": "mrkdwn", "text":
                f"You are not a Baton operator, so this dashboard is empty for you. To help customers, ask {ask} "
                "to add you (`/baton operators add @you`)."}},
        ]

    async def dashboard(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        snap = await home_snapshot(self.db, alerts_limit=ROWS_PER_SECTION)
        open_rows, alerts, alert_convs, names = snap.open_rows, snap.alerts, snap.alert_convs, snap.names
        waiting = [c for c in open_rows if c.mode == "agent" and c.needs_human]
        agent = [c for c in open_rows if c.mode == "agent" and not c.needs_human]
        human = [c for c in open_rows if c.mode == "human"]
        out: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": "Baton: live support"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                f"{len(waiting)} waiting for a human · {len(agent)} with the agent · {len(human)} taken over · "
                f"{len(alerts)} open alerts · updated {b.slack_time(now)}"}]},
        ]
        sections: list[tuple[str, list[Any], Any]] = [
            (":rotating_light: Waiting for a human", waiting, lambda c: f"waiting {_ago(now, c.needs_human_since)}: "
             f"{b._esc(c.needs_human_reason or '')}"),
            (":robot_face: Agent answering", agent, lambda c: f"since {b.slack_time(c.mode_since)}"),
            (":bust_in_silhouette: Taken over", human, lambda c: f"*{b._esc(c.owner_name or '?')}* since "
             f"{b.slack_time(c.mode_since)}"),
        ]
        for title, rows, detail in sections:
            out.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}* ({len(rows)})"}})
            for conv in rows[:ROWS_PER_SECTION // 2]:
                out.append(await self._row(conv, names.get(conv.customer_id, "?"), detail(conv)))
            if len(rows) > ROWS_PER_SECTION // 2:
                out.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                            f"…and {len(rows) - ROWS_PER_SECTION // 2} more: `/takeover` lists them."}]})
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*:bell: Open alerts* ({len(alerts)})"}})
        for alert in alerts[:10]:
            conv = alert_convs.get(alert.conversation_id)
            if conv is not None:
                out.append(await self._row(conv, names.get(conv.customer_id, "?"),
                                           f"{b._esc(alert.reason)} · raised {_ago(now, alert.created_at)} ago"))
        return out[:MAX_BLOCKS]

    async def _row(self, conv: Any, name: str, detail: str) -> dict[str, Any]:
        link = await self.links.of(conv)
        text = f"{linked(conv, link)} · {b._esc(name)} · {detail}"
        row: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        if conv.mode == "agent":  # the only mode a takeover is allowed from
            # A section holds one accessory: Take over is the button, Open thread a link in the text.
            if link:
                row["text"]["text"] = f"{text} · <{link}|Open thread>"
            row["accessory"] = b.button("Take over", b.TAKEOVER, str(conv.id), "primary")
        elif link:
            row["accessory"] = {"type": "button", "text": {"type": "plain_text", "text": "Open thread"},
                                "url": link, "action_id": f"open_thread_{conv.id}"}
        row["text"]["text"] = row["text"]["text"][:2900]
        return row


def _ago(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "—"
    return duration((now - _aware(when)).total_seconds())
