"""Parsing how operators name a conversation in slash commands: #12, @username, 123456789, thread links."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from bot.core.events import ConversationRef

_PERMALINK_TS = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")


class RefError(ValueError):
    pass


def parse_ref(text: str) -> ConversationRef:
    raw = text.strip().strip("<>").split("|")[0].strip()
    if not raw:
        raise RefError("Say which conversation: `#12`, `@username`, a Telegram user id or a thread link.")
    if raw.startswith("#") and raw[1:].isdigit():
        return ConversationRef(conversation_id=int(raw[1:]))
    if raw.isdigit():
        return ConversationRef(tg_user_id=int(raw))
    if raw.startswith("@") and len(raw) > 1 and re.fullmatch(r"@[A-Za-z0-9_]{1,64}", raw):
        return ConversationRef(customer_username=raw[1:])
    if raw.startswith(("http://", "https://")):
        url = urlparse(raw)
        match = _PERMALINK_TS.search(url.path)
        if match:
            channel = match.group(1)
            thread_ts = parse_qs(url.query).get("thread_ts", [f"{match.group(2)}.{match.group(3)}"])[0]
            return ConversationRef(slack_thread=(channel, thread_ts))
        raise RefError("That link is not a Slack message link. Use *Copy link* on the thread's first message.")
    raise RefError(f"`{raw}` is not a conversation reference. Use `#12`, `@username`, a Telegram user id "
                   "or a thread link.")
