"""Slack → campaigns: `/baton campaign new|list|cancel`, `/baton tag|untag`, the modal and the Cancel button.

Admins only (`[access] admins`): a campaign reaches many customers at once.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.core import campaign_queries as store
from bot.core.access import Access
from bot.core.campaigns import Draft
from bot.core.events import (
    Actor,
    CampaignCancelRequested,
    CampaignCreateRequested,
    CustomerTagsChangeRequested,
    Feedback,
)
from bot.core.handles import Database, as_id, looks_numeric
from bot.core.media import FetchFile, no_fetch
from bot.core.ports import Clock
from bot.core.service import Service
from bot.core.text import quote
from operator_bridge import campaign_blocks as cb
from operator_bridge.directory import Directory
from operator_bridge.formatting import mrkdwn_to_html
from operator_bridge.replays import delivery_of
from operator_bridge.replies_out import replies_mrkdwn

log = logging.getLogger(__name__)

USAGE = """*Campaigns* (admins)
• `/baton campaign new` — write a campaign: message, optional image and button, audience, when
• `/baton campaign list` — recent campaigns and their progress
• `/baton campaign cancel <id>` — stop a campaign that is scheduled or sending
• `/baton tag <@username or Telegram id> <tag>…` / `/baton untag …` — label customers for audiences"""

WORDS = ("campaign", "tag", "untag")
TELEGRAM_TEXT_LIMIT = 4096
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]+)?$")


def markdown_to_mrkdwn(text: str) -> str:
    """Common Markdown the admin may type, as Slack mrkdwn (which mrkdwn_to_html then reads)."""
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    return re.sub(r"~~(.+?)~~", r"~\1~", text)


def _is_web_url(value: str) -> bool:
    url = urlparse(value)
    return url.scheme in ("http", "https") and bool(url.netloc)


def parse_submission(values: dict[str, dict[str, Any]], now: datetime) -> Draft | dict[str, str]:
    """The modal's state as a Draft, or the errors to show next to each field (block id → text)."""
    def text(block: str) -> str:
        return str((values.get(block, {}).get(block) or {}).get("value") or "").strip()

    errors: dict[str, str] = {}
    message = text("message")
    html = mrkdwn_to_html(markdown_to_mrkdwn(message)) if message else ""
    if not message:
        errors["message"] = "Write the message customers will get."
    elif len(html) > TELEGRAM_TEXT_LIMIT:
        errors["message"] = f"Too long for Telegram: keep it under {TELEGRAM_TEXT_LIMIT} characters."
    image_url = text("image_url") or None
    if image_url and not (_is_web_url(image_url) and image_url.startswith("https://")):
        errors["image_url"] = "Use a public https:// link to the image."
    label, link = text("button_label") or None, text("button_url") or None
    if label and not link:
        errors["button_url"] = "A button needs a link."
    elif link and not label:
        errors["button_label"] = "A button needs a label."
    elif link and not _is_web_url(link):
        errors["button_url"] = "Use a full link starting with https://."
    elif label and len(label) > 64:
        errors["button_label"] = "Keep the label under 64 characters."
    selected = (values.get("audience", {}).get("audience") or {}).get("selected_option") or {}
    audience = str(selected.get("value") or "all")
    value = text("audience_value")
    if audience == "tag":
        value = store.normalise_tag(value)
        if not value:
            errors["audience_value"] = "Say which tag, e.g. vip."
    elif audience == "language":
        value = value.lower()
        if not _LANGUAGE.match(value):
            errors["audience_value"] = "Give a language code such as de or pt-br."
    elif audience == "active":
        try:
            days = float(value)
        except ValueError:
            days = 0
        if not 0 < days <= 3650:
            errors["audience_value"] = "Give a number of days, e.g. 30."
    elif audience == "ids":
        ids = store.parse_ids(value)
        if bad := store.first_bad_id(value):
            errors["audience_value"] = _bad_id(*bad)
        elif not ids:
            errors["audience_value"] = "Paste Telegram ids (numbers), one per line or as CSV."
        value = "\n".join(map(str, ids))
    else:
        audience, value = "all", ""
    send_at = None
    picked = (values.get("send_at", {}).get("send_at") or {}).get("selected_date_time")
    if picked:
        send_at = datetime.fromtimestamp(int(picked), UTC)
        if send_at < now - timedelta(minutes=1):
            errors["send_at"] = "That time has passed. Leave it empty to send now."
    if errors:
        return errors
    return Draft(text=message, html=html, audience=audience, audience_value=value, image_url=image_url,
                 button_label=label, button_url=link, send_at=send_at)


def _bad_id(line: int, token: str, where: str = "") -> str:
    return (f"Line {line}{where}: {token[:30]} is not a Telegram id (ids are positive whole numbers of at most "
            "19 digits). Fix or remove it.")


def _files(values: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return list(((values.get("audience_file") or {}).get("audience_file") or {}).get("files") or [])


def _audience(values: dict[str, dict[str, Any]]) -> str:
    return str(((values.get("audience", {}).get("audience") or {}).get("selected_option") or {}).get("value") or "")


def _said(feedback: list[Feedback]) -> str:
    return replies_mrkdwn(feedback)


def describe_audience(audience: str, value: str) -> str:
    if audience == "tag":
        return f"customers tagged {value}"
    if audience == "language":
        return f"customers speaking {value}"
    if audience == "active":
        return f"customers active within {value} days"
    if audience == "ids":
        return f"a list of {len(value.split())} Telegram ids"
    return "all customers"


class CampaignSlack:
    def __init__(self, app: AsyncApp, service: Service, directory: Directory, db: Database, access: Access,
                 clock: Clock, fetch_file: FetchFile = no_fetch) -> None:
        self.app = app
        # Reads an uploaded audience file (a CSV of Telegram ids) with the bot token, from Slack's file host.
        self.fetch_file = fetch_file
        self.service = service
        self.directory = directory
        self.db = db
        self.access = access
        self.clock = clock

    def register(self) -> None:
        self.app.view(cb.NEW_CAMPAIGN)(self.on_submit)
        self.app.action(cb.CANCEL)(self.on_cancel_button)

    async def on_command(self, ack: Any, command: dict[str, Any], words: list[str]) -> None:
        """`/baton campaign …`, `/baton tag …`, `/baton untag …` (dispatched from operator_bridge.commands)."""
        user = command["user_id"]
        if not self.access.is_admin(user):
            await ack(text="Only Baton admins can run campaigns or tag customers.")
            return
        actor = await self.directory.actor(user)
        if words[0] in ("tag", "untag"):
            if len(words) < 3:
                await ack(text=f"Usage: `/baton {words[0]} <@username or Telegram id> <tag>…`")
                return
            outcome = await self.service.handle(CustomerTagsChangeRequested(
                actor, words[1], tuple(words[2:]), remove=words[0] == "untag",
                delivery=delivery_of("command", command)))
            await ack(text=_said(outcome.feedback))
            return
        sub = words[1] if len(words) > 1 else ""
        if sub == "new":
            await ack()
            try:
                await self.app.client.views_open(trigger_id=command["trigger_id"], view=cb.new_campaign_modal())
            except SlackApiError as exc:
                log.warning("campaign modal: %s", exc.response.get("error"))
            return
        if sub == "list":
            await ack(text=cb.campaign_list(await self._list()))
            return
        if sub == "cancel" and len(words) > 2 and looks_numeric(words[2].lstrip("#")):
            campaign_id = as_id(words[2].lstrip("#"))
            await ack(text=await self._cancel(campaign_id, actor, "command") if campaign_id is not None
                      else f"`{quote(words[2][:40])}` is not a campaign number: write it in plain digits, e.g. `3`.")
            return
        await ack(text=USAGE)

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        if not self.access.is_admin(user):
            await ack(response_action="errors", errors={"message": "Only Baton admins can create campaigns."})
            return
        values = view.get("state", {}).get("values", {})
        if _files(values):
            # Reading a file can take longer than the 3 seconds Slack waits for this answer: answer first, then
            # read, create and tell the admin the outcome in a direct message.
            if _audience(values) != "ids":
                await ack(response_action="errors",
                          errors={"audience_file": "A file of ids needs the audience “A list of Telegram ids”."})
                return
            await ack(response_action="update", view=cb.working_modal(
                ":hourglass_flowing_sand: Reading the audience file… Baton sends you the outcome in a direct "
                "message; you can close this window."))
            await self._tell(user, await self._create_from(values, user, str(view.get("id") or "")))
            return
        outcome = await self._create(values, user, str(view.get("id") or ""))
        if isinstance(outcome, dict):
            await ack(response_action="errors", errors=outcome)
            return
        await ack()

    async def _create_from(self, values: dict[str, dict[str, Any]], user: str, form_id: str) -> str:
        values, file_error = await self._audience_file(values)
        outcome = {"audience_file": file_error} if file_error else await self._create(values, user, form_id)
        if isinstance(outcome, dict):
            return "The campaign was *not* created:\n" + "\n".join(f"• {quote(why)}" for why in outcome.values())
        return outcome

    async def _create(self, values: dict[str, dict[str, Any]], user: str, form_id: str) -> dict[str, str] | str:
        """Field → error, or what to tell the admin once the campaign exists."""
        parsed = parse_submission(values, self.clock.now())
        if isinstance(parsed, dict):
            return parsed
        created = await self.service.handle(CampaignCreateRequested(await self.directory.actor(user), parsed,
                                                                    form_id=form_id or None))
        if created.campaign_id is None:
            return {"audience": _said(created.feedback)}
        log.info("campaign %s created by %s", created.campaign_id, user)
        return f"Campaign #{created.campaign_id} is created: its message shows how sending goes."

    async def _cancel(self, campaign_id: int, actor: Actor, source: str) -> str:
        return _said((await self.service.handle(CampaignCancelRequested(actor, campaign_id, source))).feedback)

    async def _tell(self, user: str, text: str) -> None:
        try:
            dm = await self.app.client.conversations_open(users=user)
            await self.app.client.chat_postMessage(channel=dm["channel"]["id"], text=text)
        except SlackApiError as exc:
            log.warning("could not tell %s about their campaign: %s", user, exc.response.get("error"))

    async def _audience_file(self, values: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], str | None]:
        """The form's values with an uploaded file's ids added to the pasted ones, or what is wrong with it."""
        files = _files(values)
        if not files:
            return values, None
        if _audience(values) != "ids":
            return values, "A file of ids needs the audience “A list of Telegram ids”."
        data = await self.fetch_file(str(files[0].get("url_private_download") or ""))
        if not isinstance(data, bytes):
            return values, f"Could not read the file: {getattr(data, 'reason', 'too large')}."
        content = data.decode("utf-8-sig", "replace")
        if bad := store.first_bad_id(content):
            return values, _bad_id(*bad, where=" of the file")
        pasted = str((values.get("audience_value", {}).get("audience_value") or {}).get("value") or "")
        merged = dict(values)
        merged["audience_value"] = {"audience_value": {"value": f"{pasted}\n{content}"}}
        return merged, None

    async def on_cancel_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        if not self.access.is_admin(user):
            text = "Only Baton admins can cancel campaigns."
        else:
            text = await self._cancel(int(action["value"]), await self.directory.actor(user), "button")
        try:
            await self.app.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as exc:
            log.warning("could not tell %s: %s", user, exc.response.get("error"))

    async def _list(self) -> list[cb.CampaignView]:
        rows = []
        for c, counts, reply_count in await store.recent_campaigns(self.db):
            assert c.id is not None
            rows.append(cb.CampaignView(
                campaign_id=c.id, status=c.status, text=c.text, created_by_name=c.created_by_name,
                audience=describe_audience(c.audience, c.audience_value), send_at=c.send_at,
                counts=counts, reply_count=reply_count))
        return rows
