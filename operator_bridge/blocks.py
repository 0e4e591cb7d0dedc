"""Pure Block Kit builders: data in, (fallback text, blocks) out. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.events import Feedback
from bot.core.text import quote
from operator_bridge import action_ids
from operator_bridge.replies_out import reply_mrkdwn

Blocks = list[dict[str, Any]]

TAKEOVER, HANDBACK, RESOLVE, EXPORT = action_ids.TAKEOVER, action_ids.HANDBACK, action_ids.RESOLVE, action_ids.EXPORT


@dataclass(frozen=True)
class CardView:
    conversation_id: int
    mode: str
    customer_name: str
    tg_user_id: int
    username: str | None = None
    language: str | None = None
    owner_name: str | None = None
    mode_since: datetime | None = None
    needs_human_reason: str | None = None
    needs_human: bool = False
    previous_link: str | None = None
    previous_id: int | None = None
    csat_rating: int | None = None
    csat_comment: str | None = None
    campaign_id: int | None = None  # the conversation began as a reply to this campaign


def _esc(text: str) -> str:
    return quote(text)


def slack_time(when: datetime | None) -> str:
    """A time every reader sees in their own time zone."""
    if when is None:
        return ""
    ts = int(when.timestamp())
    return f"<!date^{ts}^{{time}}|{when:%H:%M} UTC>"


def status_line(view: CardView) -> str:
    if view.mode == "human":
        owner = _esc(view.owner_name or "An operator")
        return f":bust_in_silhouette: *{owner}* has taken over since {slack_time(view.mode_since)}"
    if view.mode == "closed":
        return f":white_check_mark: Resolved at {slack_time(view.mode_since)}"
    if view.needs_human:
        return f":rotating_light: *Waiting for a human*: {_esc(view.needs_human_reason or 'the agent asked for help')}"
    return ":robot_face: Agent is answering"


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label, "emoji": True},
                               "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def card(view: CardView) -> tuple[str, Blocks]:
    who = _esc(view.customer_name)
    fields = [f"*Customer*\n{who}",
              f"*Username*\n{'@' + _esc(view.username) if view.username else '—'}",
              f"*Telegram id*\n`{view.tg_user_id}`",
              f"*Language*\n{_esc(view.language) if view.language else '—'}"]
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Conversation #{view.conversation_id} · "
                                    f"{view.customer_name}"[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "section", "block_id": "status", "text": {"type": "mrkdwn", "text": status_line(view)}},
    ]
    value = str(view.conversation_id)
    actions = []
    if view.mode == "agent":
        actions.append(button("Take over", TAKEOVER, value, "primary"))
    if view.mode == "human":
        actions.append(button("Hand back to agent", HANDBACK, value))
    if view.mode in ("agent", "human"):
        actions.append(button("Resolve", RESOLVE, value))
    # Export works in every mode: it uploads the transcript (text and JSON) into this thread.
    actions.append(button("Export", EXPORT, value))
    blocks.append({"type": "actions", "block_id": "conversation_actions", "elements": actions})
    if view.csat_rating:
        rating = view.csat_rating
        line = f"CSAT {'★' * rating}{'☆' * (5 - rating)} {rating}/5"
        if view.csat_comment:
            line += f" · “{_esc(view.csat_comment[:300])}”"
        blocks.append({"type": "section", "block_id": "csat", "text": {"type": "mrkdwn", "text": line}})
    if view.campaign_id is not None:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f":mega: Reply to campaign #{view.campaign_id}"}]})
    if view.previous_link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"Previous conversation: <{view.previous_link}|#{view.previous_id}>"}]})
    text = f"Conversation #{view.conversation_id} with {who}: {status_line(view)}"
    return text, blocks


def note(text: str) -> tuple[str, Blocks]:
    return text, [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def feedback(fb: Feedback) -> tuple[str, Blocks]:
    text = reply_mrkdwn(fb)
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if fb.buttons:
        blocks.append({"type": "actions", "elements": [
            button(b.label, action_ids.FOR_ACTION[b.action], b.value, b.style) for b in fb.buttons]})
    return text, blocks


@dataclass(frozen=True)
class WaitingRow:
    conversation_id: int
    customer_name: str
    mode: str
    needs_human: bool
    reason: str | None
    since: datetime | None
    link: str | None


def waiting_list(rows: list[WaitingRow]) -> tuple[str, Blocks]:
    if not rows:
        text = "No open conversations right now. Use `/takeover #12`, `/takeover @username` or a thread link."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    waiting = [r for r in rows if r.needs_human]
    head = (f"*{len(waiting)} waiting for a human*" if waiting else "*Nobody is waiting for a human.*") + \
        " Open conversations:"
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    for row in rows[:20]:
        name = f"<{row.link}|#{row.conversation_id}>" if row.link else f"#{row.conversation_id}"
        if row.needs_human:
            state = f":rotating_light: waiting since {slack_time(row.since)}: {_esc(row.reason or '')}"
        else:
            state = ":robot_face: agent" if row.mode == "agent" else ":bust_in_silhouette: taken over"
        section: dict[str, Any] = {"type": "section",
                                   "text": {"type": "mrkdwn", "text": f"{name} · {_esc(row.customer_name)} · {state}"}}
        if row.mode == "agent":
            section["accessory"] = button("Take over", TAKEOVER, str(row.conversation_id), "primary")
        blocks.append(section)
    return head, blocks


@dataclass(frozen=True)
class AlertView:
    conversation_id: int
    customer_name: str
    username: str | None
    reason: str
    raised_at: datetime
    last_messages: list[tuple[str, str]]  # (who, text), oldest first
    thread_link: str | None
    outcome: str | None = None  # set once someone acted: "Alice took over"
    closed_at: datetime | None = None


def alert(view: AlertView) -> tuple[str, Blocks]:
    who = _esc(view.customer_name) + (f" (@{_esc(view.username)})" if view.username else "")
    number = f"<{view.thread_link}|#{view.conversation_id}>" if view.thread_link else f"#{view.conversation_id}"
    if view.outcome:
        head = f":white_check_mark: *{_esc(view.outcome)}* at {slack_time(view.closed_at)} · was: {_esc(view.reason)}"
    else:
        head = f":rotating_light: *Needs a human*: {_esc(view.reason)}"
    blocks_: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"Conversation {number} · {who} · since {slack_time(view.raised_at)}"}},
    ]
    if view.last_messages:
        lines = "\n".join(f"*{_esc(name)}*: {_esc(text[:300])}" for name, text in view.last_messages[-5:])
        blocks_.append({"type": "context", "elements": [{"type": "mrkdwn", "text": lines[:2900]}]})
    if not view.outcome:
        blocks_.append({"type": "actions", "block_id": "alert_actions",
                        "elements": [button("Take over", TAKEOVER, str(view.conversation_id), "primary")]})
    text = (f"{_esc(view.outcome)}: conversation #{view.conversation_id}" if view.outcome
            else f"Needs a human: conversation #{view.conversation_id} with {who}: {_esc(view.reason)}")
    return text, blocks_
