"""`/baton`: the admin command (status, stats, people, blocking, the agent switch, the knowledge base)
plus `search` for operators. Every admin action is audited and answered ephemerally."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import __version__
from bot.core import queries
from bot.core import stats as stats_mod
from bot.core.admin_ops import refresh_access
from bot.core.events import AdminCommandRun, AgentPauseRequested, CustomerBlockRequested, RoleChangeRequested
from bot.core.handles import Database
from bot.core.service import Service
from bot.core.text import quote
from operator_bridge.directory import Directory
from operator_bridge.history import NOT_OPERATOR, History
from operator_bridge.replays import delivery_of
from operator_bridge.replies_out import replies_mrkdwn, stats_summary
from operator_bridge.stats_chart import chart_png_async

log = logging.getLogger(__name__)

# One entry per subcommand; other features (e.g. campaigns) add their own lines here.
HELP_LINES = [
    "`/baton help` — this list",
    "`/baton status` — health, uptime, version, conversations by mode, outbox backlog, last error",
    "`/baton stats [7d|30d]` — conversations, agent-only share, takeovers, response times, CSAT, with a chart",
    "`/baton operators add|remove|list @user` — who can take over conversations",
    "`/baton admins add|remove|list @user` — who can use `/baton`",
    "`/baton block|unblock <customer>` — a blocked customer gets no replies and nothing reaches Slack",
    "`/baton agent pause|resume` — send every new message to humans (for agent outages)",
    "`/baton kb reload` — reload the knowledge base file",
    "`/baton search <text>` — find messages across conversations (operators)",
    "`/baton campaign new|list|cancel <id>` — broadcasts whose replies become conversations",
    "`/baton tag|untag <customer> <tag>` — tag customers for campaign audiences",
]
HELP_FOOTER = ("Also: `/history <customer>` (operators), `/takeover`, `/handback`, `/resolve`, and the App Home tab "
               "for a live dashboard.")
REFUSED = "Only Baton admins can use `/baton {}`. Ask an admin (see `/baton admins list`) if you need it."
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|^([UW][A-Z0-9]{2,})$")

Answer = Callable[..., Awaitable[Any]]


def help_text() -> str:
    return "*Baton admin commands*\n" + "\n".join(f"• {line}" for line in HELP_LINES) + "\n" + HELP_FOOTER


class AdminCommands:
    def __init__(self, app: AsyncApp, service: Service, directory: Directory, db: Database, history_: History,
                 *, reload_kb: Callable[[], str], health: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.service = service
        self.access = service.access
        self.directory = directory
        self.db = db
        self.history = history_
        self.reload_kb = reload_kb
        self.health = health
        self.started_at = time.monotonic()
        self._last_stats = stats_mod.Stats(days=7)

    async def on_baton(self, ack: Answer, command: dict[str, Any]) -> None:
        words = command.get("text", "").split()
        sub, args = (words[0].lower() if words else "help"), words[1:]
        user = command["user_id"]
        if sub == "search":
            if not self.access.is_operator(user):
                await ack(text=NOT_OPERATOR)
            elif not args:
                await ack(text="Usage: `/baton search <text>`")
            else:
                await ack(text=await self.history.search_text(" ".join(args)))
            return
        if sub == "help" or sub not in _HANDLERS:
            await ack(text=help_text() if sub == "help" else f"Unknown subcommand `{sub}`.\n\n{help_text()}")
            return
        if not self.access.is_admin(user):
            await ack(text=REFUSED.format(sub))
            return
        text = await _HANDLERS[sub](self, user, args, command)
        await self._audit(user, sub, " ".join(args))  # before answering: the answer says it is done
        await ack(text=text)
        if sub == "stats":
            # After the ack: Slack wants the answer within 3 s, and drawing the chart can take a moment.
            await self._upload_chart(args, command)

    async def _audit(self, user: str, sub: str, detail: str) -> None:
        actor = await self.directory.actor(user)
        await self.service.handle(AdminCommandRun(actor, sub, detail))

    async def status(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        health = self.health()
        numbers = await queries.status_numbers(self.db)
        open_rows, backlog, error, paused = numbers.open_rows, numbers.backlog, numbers.last_error, numbers.agent_paused
        waiting = sum(1 for c in open_rows if c.needs_human)
        agent = sum(1 for c in open_rows if c.mode == "agent")
        human = sum(1 for c in open_rows if c.mode == "human")
        checks = ", ".join(f"{k} {'ok' if v else 'DOWN'}" for k, v in health.items() if isinstance(v, bool))
        last = f"{error[0]:%Y-%m-%d %H:%M} UTC: {quote(error[1][:200])}" if error else "none"
        return (f"*Baton {__version__}* is running (up {stats_mod.duration(health.get('uptime_seconds'))}); "
                f"{checks or 'database ok'}.\n"
                f"Agent: {'*paused*: new messages go to humans' if paused else 'answering'}.\n"
                + (f"Knowledge base: {health['knowledge_base']}.\n" if health.get("knowledge_base") else "") +
                f"Open conversations: {agent} with the agent ({waiting} waiting for a human), {human} taken over.\n"
                f"Outbox backlog: {backlog}.\nLast delivery error: {last}")

    async def stats(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        days = 30 if args[:1] == ["30d"] else 7
        result = await stats_mod.compute_for(self.db, self.service.clock.now(), days)
        self._last_stats = result
        return stats_summary(result) + "\nA chart of conversations per day follows in a direct message."

    async def _upload_chart(self, args: list[str], command: dict[str, Any]) -> None:
        # To the asker's DM, not the channel: the numbers are theirs to share (the summary was ephemeral too).
        result = self._last_stats
        try:
            png = await chart_png_async(result)
            dm = await self.app.client.conversations_open(users=command["user_id"])
            await self.app.client.files_upload_v2(
                channel=dm["channel"]["id"], content=png,
                filename=f"baton-stats-{result.days}d.png", title=f"Conversations per day, last {result.days} days")
        except SlackApiError as exc:
            log.warning("stats chart upload failed: %s", exc.response.get("error"))

    async def people(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        role = "admin" if command.get("text", "").split()[0].lower() == "admins" else "operator"
        configured = self.access.config_admins if role == "admin" else self.access.config_operators
        action = args[0].lower() if args else "list"
        if action == "list":
            stored = await queries.people_with_role(self.db, role)
            lines = [f"• <@{u}> (config file)" for u in sorted(configured)]
            lines += [f"• <@{u}> (added in Slack)" for u in stored if u not in configured]
            return f"*Baton {role}s*\n" + ("\n".join(lines) or "nobody yet")
        target = _user_id(args[1]) if len(args) > 1 else None
        if action not in ("add", "remove") or target is None:
            return f"Usage: `/baton {role}s add|remove|list @user` (mention the person)."
        outcome = await self.service.handle(RoleChangeRequested(
            await self.directory.actor(user), target, role, add=action == "add",
            delivery=delivery_of("command", command)))
        if outcome.changed:
            await refresh_access(self.db, self.access)
        return replies_mrkdwn(outcome.feedback)

    async def block(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        blocked = command.get("text", "").split()[0].lower() == "block"
        if not args:
            return f"Usage: `/baton {'block' if blocked else 'unblock'} <customer>`: @username, Telegram id or name."
        found = await queries.find_customers(self.db, " ".join(args), limit=5)
        if len(found) != 1:
            names = ", ".join(f"{quote(c.display_name)} ({c.tg_user_id})" for c in found)
            return f"{len(found)} customers match: {names}. Use @username or the Telegram id." if found else \
                f"No customer matches `{quote(' '.join(args))}`."
        actor = await self.directory.actor(user)
        outcome = await self.service.handle(CustomerBlockRequested(actor, found[0].id or 0, blocked,
                                                                   delivery=delivery_of("command", command)))
        return replies_mrkdwn(outcome.feedback)

    async def agent(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        if args[:1] not in (["pause"], ["resume"]):
            return "Usage: `/baton agent pause|resume`"
        actor = await self.directory.actor(user)
        outcome = await self.service.handle(AgentPauseRequested(actor, args[0] == "pause",
                                                                delivery=delivery_of("command", command)))
        return replies_mrkdwn(outcome.feedback)

    async def kb(self, user: str, args: list[str], command: dict[str, Any]) -> str:
        if args[:1] != ["reload"]:
            return "Usage: `/baton kb reload`"
        try:
            return self.reload_kb()
        except Exception as exc:  # a broken file must be reported, not crash the command
            return f"The knowledge base could not be reloaded: {exc}"


_HANDLERS: dict[str, Callable[[AdminCommands, str, list[str], dict[str, Any]], Awaitable[str]]] = {
    "status": AdminCommands.status, "stats": AdminCommands.stats, "operators": AdminCommands.people,
    "admins": AdminCommands.people, "block": AdminCommands.block, "unblock": AdminCommands.block,
    "agent": AdminCommands.agent, "kb": AdminCommands.kb,
}


def _user_id(word: str) -> str | None:
    match = _USER.search(word)
    return (match.group(1) or match.group(2)) if match else None
