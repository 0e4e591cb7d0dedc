"""The id of a Slack request, so that the core recognises a replay of it (as it does re-delivered messages).

Slack signs a request's body with its timestamp; within the 5-minute window an identical copy passes the
signature check. Every genuine press, shortcut, command or submission carries its own `trigger_id` (and
`action_ts` / view state), so the digest of the whole payload differs between two real requests and is the
same for a replay, over HTTP and Socket Mode alike."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.core.events import Delivery


def delivery_of(kind: str, body: dict[str, Any]) -> Delivery:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:40]
    return Delivery("slack", f"{kind}:{digest}")
