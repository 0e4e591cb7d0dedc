"""Parsing how operators name a conversation in slash commands: #12, @username, 123456789, thread links."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from bot.core.events import ConversationRef
from bot.core.handles import as_id, looks_numeric
from bot.core.text import quote

_PERMALINK_TS = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")


class RefError(ValueError):
    pass


def parse_ref(text: str) -> ConversationRef:
    raw = text.strip().strip("<>").split("|")[0].strip()
    if not raw:
        raise RefError("Say which conversation: `#12`, `@username`, a Telegram user id or a thread link.")
    number = raw[1:] if raw.startswith("#") else raw
    if looks_numeric(number):
        value = as_id(number)
        if value is None:
            what = "conversation number" if raw.startswith("#") else "Telegram user id"
            raise RefError(f"`{quote(raw[:40])}` is not a {what}: write it in plain digits (0-9), "
                           "e.g. `#12` or `123456789`.")
        return ConversationRef(conversation_id=value) if raw.startswith("#") else ConversationRef(tg_user_id=value)
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
    raise RefError(f"`{quote(raw[:80])}` is not a conversation reference. Use `#12`, `@username`, a Telegram user id "
                   "or a thread link.")
