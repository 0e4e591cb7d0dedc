"""Pure Block Kit builders for campaigns: the creation modal and the campaign's live message. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from operator_bridge.blocks import TAKEOVER, Blocks, _esc, button, slack_time

NEW_CAMPAIGN = "campaign_new"  # the modal's callback_id
CANCEL = "campaign_cancel"

AUDIENCE_LABELS = {
    "all": "All customers",
    "tag": "Customers with a tag",
    "language": "Customers by language",
    "active": "Active within N days",
    "ids": "A list of Telegram ids",
}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "optional": optional,
                             "label": {"type": "plain_text", "text": label},
                             "element": {**element, "action_id": block_id}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text_input(multiline: bool = False, placeholder: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    return element


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": AUDIENCE_LABELS[value]}, "value": value}


def new_campaign_modal() -> dict[str, Any]:
    """The modal `/baton campaign new` opens; input block ids double as action ids and error keys."""
    audience = {"type": "static_select", "options": [_option(v) for v in AUDIENCE_LABELS],
                "initial_option": _option("all")}
    return {
        "type": "modal", "callback_id": NEW_CAMPAIGN,
        "title": {"type": "plain_text", "text": "New campaign"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("message", "Message", _text_input(True), hint="Markdown: *bold*, _italic_, [link](https://…)"),
            _input("image_url", "Image URL", _text_input(placeholder="https://…"), optional=True),
            _input("button_label", "Button label", _text_input(), optional=True),
            _input("button_url", "Button link", _text_input(placeholder="https://…"), optional=True),
            _input("audience", "Audience", audience),
            _input("audience_value", "Tag, language, days or Telegram ids", _text_input(True), optional=True,
                   hint="For a tag: vip. Language: de. Active: 30 (days). Ids: paste them or a CSV export."),
            _input("audience_file", "…or a CSV file of Telegram ids", {"type": "file_input",
                   "filetypes": ["csv", "txt"], "max_files": 1}, optional=True,
                   hint="With the audience “A list of Telegram ids”: every number in the file is an id."),
            _input("send_at", "Send at (empty: now)", {"type": "datetimepicker"}, optional=True),
        ],
    }


@dataclass(frozen=True)
class ReplyRow:
    conversation_id: int
    customer_name: str
    mode: str
    link: str | None


@dataclass(frozen=True)
class CampaignView:
    campaign_id: int
    status: str
    text: str
    audience: str
    created_by_name: str
    send_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    finished_at: datetime | None = None
    cancelled_by_name: str | None = None
    image_url: str | None = None
    button_label: str | None = None
    replies: list[ReplyRow] = field(default_factory=list)
    reply_count: int = 0
    failure: str | None = None  # why the campaign as a whole stopped (status "failed")
    failure_reasons: list[tuple[str, int]] = field(default_factory=list)  # why recipients failed, most common first


def working_modal(text: str) -> dict[str, Any]:
    """What the modal shows while a submission with a file is read: Slack wants an answer within 3 seconds."""
    return {"type": "modal", "callback_id": NEW_CAMPAIGN, "title": {"type": "plain_text", "text": "New campaign"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def progress_line(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    line = (f"sent {counts.get('sent', 0)} / {total} · {counts.get('blocked', 0)} blocked · "
            f"{counts.get('failed', 0)} failed")
    if counts.get("skipped"):
        line += f" · {counts['skipped']} skipped (opted out or unreachable)"
    return line


def status_text(view: CampaignView) -> str:
    if view.status == "scheduled":
        return f":calendar: Scheduled for {slack_time(view.send_at)}"
    if view.status == "sending":
        return f":outbox_tray: Sending: {progress_line(view.counts)}"
    if view.status == "cancelled":
        return (f":no_entry_sign: Cancelled by {_esc(view.cancelled_by_name or 'an admin')} at "
                f"{slack_time(view.finished_at)}: {progress_line(view.counts)}")
    if view.status == "failed":
        return (f":x: *Stopped* at {slack_time(view.finished_at)}: {_esc(view.failure or 'see the log')}. "
                f"Nothing more will be sent: {progress_line(view.counts)}")
    return f":white_check_mark: Done at {slack_time(view.finished_at)}: {progress_line(view.counts)}"


def campaign_message(view: CampaignView) -> tuple[str, Blocks]:
    preview = _esc(view.text if len(view.text) <= 600 else view.text[:600] + "…")
    extras = [f"Audience: {_esc(view.audience)}", f"by {_esc(view.created_by_name)}"]
    if view.image_url:
        extras.append("with an image")
    if view.button_label:
        extras.append(f"button “{_esc(view.button_label)}”")
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"📣 Campaign #{view.campaign_id}"}},
        {"type": "section", "block_id": "campaign_status", "text": {"type": "mrkdwn", "text": status_text(view)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f">{preview.replace(chr(10), chr(10) + '>')}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(extras)}]},
    ]
    if view.failure_reasons:
        why = " · ".join(f"{n} × {_esc(reason[:150])}" for reason, n in view.failure_reasons)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: Failed: {why}"}]})
    if view.status in ("scheduled", "sending"):
        cancel = button("Cancel campaign", CANCEL, str(view.campaign_id), "danger")
        cancel["confirm"] = {"title": {"type": "plain_text", "text": "Cancel this campaign?"},
                             "text": {"type": "plain_text", "text": "Customers not reached yet will not get it."},
                             "confirm": {"type": "plain_text", "text": "Cancel campaign"},
                             "deny": {"type": "plain_text", "text": "Keep sending"}}
        blocks.append({"type": "actions", "block_id": "campaign_actions", "elements": [cancel]})
    if view.reply_count:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"*Replies: {view.reply_count} conversations*"}})
        for row in view.replies:
            number = f"<{row.link}|#{row.conversation_id}>" if row.link else f"#{row.conversation_id}"
            state = {"agent": ":robot_face: agent", "human": ":bust_in_silhouette: taken over"}.get(
                row.mode, ":white_check_mark: resolved")
            section: dict[str, Any] = {"type": "section", "text": {
                "type": "mrkdwn", "text": f"{number} · {_esc(row.customer_name)} · {state}"}}
            if row.mode == "agent":
                section["accessory"] = button("Take over", TAKEOVER, str(row.conversation_id), "primary")
            blocks.append(section)
        if view.reply_count > len(view.replies):
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                           f"…and {view.reply_count - len(view.replies)} more, listed in the channel's threads."}]})
    text = f"Campaign #{view.campaign_id}: {status_text(view)}"
    return text, blocks


def campaign_list(rows: list[CampaignView]) -> str:
    if not rows:
        return "No campaigns yet. `/baton campaign new` creates one."
    lines = [f"*#{r.campaign_id}* · {r.status} · {_esc(r.audience)} · {progress_line(r.counts)} · "
             f"{r.reply_count} replies · “{_esc(r.text[:60])}”" for r in rows]
    return "*Campaigns*\n" + "\n".join(lines)
