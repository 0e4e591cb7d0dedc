"""Core → Slack, after the fact: a mirrored customer message updated in place and marked edited."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.ports import Delivered, Failed, Result
from operator_bridge.blocks import Blocks, _esc
from operator_bridge.formatting import html_to_mrkdwn
from storage.models import Message

EDITED = "_(edited)_"
SECTION_LIMIT = 3000  # a section block's text
UPDATE_LIMIT = 4000  # chat.update refuses longer text (msg_too_long)


def edited_mirror(text: str) -> tuple[str, Blocks | None]:
    """(text, blocks) for chat.update: the text, then a context line saying it was edited."""
    if len(text) > SECTION_LIMIT:
        # Too long for a section: plain text with the marker appended, cut to what chat.update takes.
        room = UPDATE_LIMIT - len(EDITED) - 2
        body = text if len(text) <= room else text[:room - 1] + "…"
        return f"{body}\n{EDITED}", None
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                      {"type": "context", "elements": [{"type": "mrkdwn", "text": EDITED}]}]
    return f"{text} (edited)", blocks


async def update_mirror(client: AsyncWebClient, channel: str, message: Message | None) -> Result:
    if message is None:
        return Failed("the edited message no longer exists")
    if message.slack_ts is None:
        return Delivered(skipped="the mirror was never posted")
    text, blocks = edited_mirror((html_to_mrkdwn(message.html) if message.html else _esc(message.text)) or " ")
    args: dict[str, Any] = {"channel": channel, "ts": message.slack_ts, "text": text}
    if blocks is not None:
        args["blocks"] = blocks
    await client.chat_update(**args)
    return Delivered()
