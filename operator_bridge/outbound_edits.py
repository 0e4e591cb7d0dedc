"""Core → Slack, after the fact: a mirrored customer message updated in place and marked edited."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.ports import Delivered, Failed, Result
from operator_bridge.blocks import Blocks, _esc
from operator_bridge.formatting import html_to_mrkdwn
from operator_bridge.long_text import BLOCKS_TEXT_BUDGET, MAX_BLOCKS, TEXT_LIMIT, fallback, split_text
from storage.models import Message

EDITED = "_(edited)_"
UPDATE_LIMIT = 4000  # chat.update refuses longer text (msg_too_long)
CONTINUED = "_(edited; the rest of the new text follows in the next message)_"


def edited_mirror(text: str) -> tuple[str, Blocks, list[str]]:
    """(text, blocks) for chat.update, the new text whole in sections and a context line saying it was
    edited; plus what did not fit in one message, to post right after it (chat.update takes 4,000
    characters of text and 50 blocks)."""
    pieces = split_text(text)
    fit, used = 0, 0
    while fit < len(pieces) and fit < MAX_BLOCKS - 1 and used + len(pieces[fit]) <= BLOCKS_TEXT_BUDGET:
        used += len(pieces[fit])
        fit += 1
    fit = max(fit, 1)
    rest = "".join(pieces[fit:])
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": piece or " "}} for piece in pieces[:fit]]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": CONTINUED if rest else EDITED}]})
    return fallback(f"{text} (edited)", UPDATE_LIMIT), blocks, split_text(rest, TEXT_LIMIT) if rest else []


async def update_mirror(client: AsyncWebClient, channel: str, message: Message | None,
                        thread_ts: str | None = None) -> Result:
    if message is None:
        return Failed("the edited message no longer exists")
    if message.slack_ts is None:
        return Delivered(skipped="the mirror was never posted")
    text, blocks, rest = edited_mirror((html_to_mrkdwn(message.html) if message.html else _esc(message.text))
                                       or " ")
    await client.chat_update(channel=channel, ts=message.slack_ts, text=text, blocks=blocks)
    for more in rest:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=more, unfurl_links=False,
                                      unfurl_media=False)
    return Delivered()
