"""In-memory model of the fake Slack workspace: users, channels, messages, threads and recordings."""

from __future__ import annotations

import copy
import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack_rich_text import rich_text_block

MAX_TEXT = 40_000  # chat.postMessage truncates beyond this (docs: "should have no more than 40,000")
MAX_UPDATE_TEXT = 4_000  # chat.update rejects longer text with msg_too_long
MAX_SECTION_TEXT = 3_000
PERMALINK_HOST = "https://sandbox.slack.local"


class ApiError(Exception):
    """A Slack Web API error: rendered as {"ok": false, "error": ...} with HTTP 200."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict] | None
    thread_ts: str | None
    message_ts: str
    at: float
    deleted: bool = False  # set when a response_url post used delete_original on it


@dataclass
class Response:
    """What Slack's side received back from the app: HTTP status/body or the socket-mode ack.

    status 200 = acked; 0 = nobody to deliver to (no socket client ever connected, no events_url);
    408 = no ack/HTTP answer within FakeSlack.ack_timeout; other codes are the app's HTTP status.
    """

    status: int
    body: Any = None


def clone(obj: Any) -> Any:
    """Deep copy for JSON-shaped data; several times faster than copy.deepcopy for wait_for polling."""
    if isinstance(obj, dict):
        return {k: clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone(v) for v in obj]
    return obj


def _block_error(index: int, why: str) -> ApiError:
    return ApiError("invalid_blocks", f"[ERROR] {why} [json-pointer:/blocks/{index}]")


def validate_blocks(blocks: Any, max_blocks: int = 50) -> None:
    """Minimal Block Kit validation: enough to catch what real Slack would reject loudly."""
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format", "[ERROR] blocks must be an array")
    if len(blocks) > max_blocks:
        raise ApiError("invalid_blocks",
                       f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _block_error(i, "missing required field: type")
        if len(str(block.get("block_id", ""))) > 255:
            raise _block_error(i, "block_id must be at most 255 characters")
        kind = block["type"]
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if len(text) > MAX_SECTION_TEXT:
                raise _block_error(i, f"must be less than {MAX_SECTION_TEXT + 1} characters")
            if not text and not block.get("fields"):
                raise _block_error(i, "section needs text or fields")
            if len(block.get("fields") or []) > 10:
                raise _block_error(i, "no more than 10 fields allowed")
        elif kind == "actions" and not 0 < len(block.get("elements") or []) <= 25:
            raise _block_error(i, "actions block needs 1..25 elements")
        elif kind == "context" and not 0 < len(block.get("elements") or []) <= 10:
            raise _block_error(i, "context block needs 1..10 elements")
        elif kind == "header" and len((block.get("text") or {}).get("text", "")) > 150:
            raise _block_error(i, "header text must be at most 150 characters")


def iter_elements(blocks: list[dict] | None) -> list[tuple[str, dict]]:
    """(block_id, element) for every interactive element, in display order."""
    found: list[tuple[str, dict]] = []
    for block in blocks or []:
        block_id = block.get("block_id", "")
        if block.get("type") == "actions":
            found += [(block_id, el) for el in block.get("elements") or []]
        elif isinstance(block.get("accessory"), dict):
            found.append((block_id, block["accessory"]))
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            found.append((block_id, block["element"]))
    return [(b, el) for b, el in found if el.get("action_id")]


def find_action(blocks: list[dict] | None, action_id: str) -> tuple[str, dict]:
    elements = iter_elements(blocks)
    for block_id, el in elements:
        if el.get("action_id") == action_id:
            return block_id, el
    available = [el["action_id"] for _, el in elements]
    raise LookupError(f"no element with action_id {action_id!r}; available: {available}")


class SlackWorkspace:
    """The data of one workspace; every mutation calls `changed()` so waiters re-check."""

    def __init__(self, *, team_id: str, app_id: str, bot_user_id: str, bot_id: str) -> None:
        self.team_id, self.app_id, self.bot_user_id, self.bot_id = team_id, app_id, bot_user_id, bot_id
        self.bot_name = "baton"
        self.clock: Callable[[], float] = time.time  # swappable so ts values can be made deterministic
        self._last_us = 0
        self._ids = itertools.count(1)
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.usergroups: dict[str, dict] = {}
        self._store: dict[str, dict[str, dict]] = {}  # channel -> ts -> message, in posting order
        self.ephemerals: list[Ephemeral] = []
        self.responses: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.reactions: dict[tuple[str, str], list[str]] = {}
        self.home_views: dict[str, dict] = {}
        self.views_opened: list[dict] = []
        self.modals: dict[str, dict] = {}  # user -> {"view": the open modal, "errors": by block id}
        self._trigger_users: dict[str, str] = {}
        self.manifest: dict[str, Any] = {}  # the app's manifest: shortcuts and slash commands for the page
        self.uploads: list[dict] = []
        self.add_user(bot_user_id, self.bot_name, real_name="Baton", is_bot=True)

    def changed(self) -> None:
        """Hook overridden by the server to wake `wait_for` callers."""

    # --- ids -------------------------------------------------------------------------------

    def next_ts(self) -> str:
        # Real ts values are wall-clock microseconds; keep them strictly increasing and unique.
        us = max(int(self.clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08X}"

    def trigger_id(self) -> str:
        return f"{int(self.clock())}.{next(self._ids)}.{secrets.token_hex(16)}"

    # --- directory -------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, real_name: str | None = None, is_bot: bool = False,
                 is_admin: bool = False) -> None:
        real = real_name or name
        self.users[user_id] = {
            "id": user_id, "team_id": self.team_id, "name": name, "deleted": False, "color": "9f69e7",
            "real_name": real, "tz": "Europe/London", "tz_label": "Greenwich Mean Time", "tz_offset": 0,
            "profile": {
                "real_name": real, "real_name_normalized": real, "display_name": name,
                "display_name_normalized": name, "email": f"{name}@sandbox.slack.local",
                "image_48": f"{PERMALINK_HOST}/avatars/{user_id}_48.png", "team": self.team_id,
                **({"bot_id": self.bot_id} if user_id == self.bot_user_id else {}),
            },
            "is_admin": is_admin, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
            "is_ultra_restricted": False, "is_bot": is_bot, "is_app_user": False,
            "updated": int(self.clock()),
        }
        self.changed()

    def add_channel(self, channel_id: str, name: str) -> None:
        is_im = channel_id.startswith("D")
        self.channels[channel_id] = {
            "id": channel_id, "name": name, "is_channel": channel_id.startswith("C"),
            "is_group": channel_id.startswith("G"), "is_im": is_im, "is_mpim": False,
            "is_private": not channel_id.startswith("C"), "created": int(self.clock()), "is_archived": False,
            "is_general": False, "is_member": True, "is_ext_shared": False, "is_shared": False,
            "context_team_id": self.team_id, "creator": self.bot_user_id, "name_normalized": name,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        self._store.setdefault(channel_id, {})
        self.changed()

    def bot_leaves(self, channel_id: str) -> None:
        """The app is removed from the channel: posts there answer not_in_channel, as without chat:write.public."""
        self.channels[channel_id]["is_member"] = False
        self.changed()

    def bot_joins(self, channel_id: str) -> None:
        self.channels[channel_id]["is_member"] = True
        self.changed()

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        self.usergroups[group_id] = {"id": group_id, "team_id": self.team_id, "handle": handle,
                                     "name": handle, "is_usergroup": True, "users": list(user_ids),
                                     "user_count": len(user_ids)}
        self.changed()

    def channel_type(self, channel: str) -> str:
        return {"D": "im", "G": "group"}.get(channel[:1], "channel")

    def require_channel(self, channel: Any) -> str:
        if not channel:
            raise ApiError("channel_not_found")
        by_name = {c["name"]: cid for cid, c in self.channels.items()}
        channel = by_name.get(str(channel).lstrip("#"), channel)  # Slack also accepts "#name"
        if channel not in self.channels:
            if str(channel).startswith("D"):
                self.add_channel(str(channel), str(channel))  # DMs with the app exist implicitly
            else:
                raise ApiError("channel_not_found")
        return str(channel)

    def require_user(self, user: Any) -> dict:
        if user not in self.users:
            raise ApiError("user_not_found")
        return self.users[user]

    # --- messages --------------------------------------------------------------------------

    def _raw(self, channel: str, ts: str) -> dict:
        try:
            return self._store[channel][ts]
        except KeyError:
            raise LookupError(f"no message {ts} in {channel}") from None

    def find(self, channel: str, ts: Any) -> dict | None:
        return self._store.get(channel, {}).get(str(ts))

    @staticmethod
    def _is_top_level(msg: dict) -> bool:
        return msg.get("thread_ts") in (None, msg["ts"]) or msg.get("subtype") == "thread_broadcast"

    def messages(self, channel: str) -> list[dict]:
        return [clone(m) for m in self._store.get(channel, {}).values() if self._is_top_level(m)]

    def thread(self, channel: str, thread_ts: str) -> list[dict]:
        return [clone(m) for m in self._store.get(channel, {}).values()
                if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def message(self, channel: str, ts: str) -> dict:
        return clone(self._raw(channel, ts))

    def with_block_ids(self, blocks: list[dict] | None) -> list[dict] | None:
        # Slack assigns a block_id to every block that lacks one; clients rely on it in payloads.
        if blocks is None:
            return None
        return [{**b, "block_id": b.get("block_id") or secrets.token_urlsafe(4)}
                for b in copy.deepcopy(blocks)]

    def _insert(self, channel: str, msg: dict, thread_ts: str | None) -> dict:
        if thread_ts:
            parent = self.find(channel, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                thread_ts = parent["thread_ts"]  # a reply's ts was given: Slack threads under its parent
                parent = self.find(channel, thread_ts)
            msg["thread_ts"] = thread_ts
            if parent is not None:
                msg["parent_user_id"] = parent.get("user") or parent.get("bot_id")
                author = msg.get("user") or msg.get("bot_id")
                users = parent.setdefault("reply_users", [])
                if author not in users:
                    users.append(author)
                parent.update(thread_ts=parent["ts"], reply_count=parent.get("reply_count", 0) + 1,
                              reply_users_count=len(users), latest_reply=msg["ts"])
        self._store.setdefault(channel, {})[msg["ts"]] = msg
        self.changed()
        return msg

    def store_user_message(self, user_id: str, channel: str, text: str, thread_ts: str | None) -> dict:
        self.require_user(user_id)
        self.require_channel(channel)
        ts = self.next_ts()
        msg = {
            "type": "message", "user": user_id, "text": text, "ts": ts, "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": [rich_text_block(text)],
        }
        return self._insert(channel, msg, thread_ts)

    def store_bot_message(self, channel: str, args: dict, *, subtype: str = "bot_message",
                          extra: dict | None = None) -> dict:
        text = str(args.get("text") or args.get("markdown_text") or "")[:MAX_TEXT]
        msg: dict[str, Any] = {
            "type": "message", "subtype": subtype, "text": text, "ts": self.next_ts(), "bot_id": self.bot_id,
            "app_id": self.app_id, "username": args.get("username") or self.bot_name, "team": self.team_id,
            "bot_profile": {"id": self.bot_id, "app_id": self.app_id, "name": self.bot_name,
                            "team_id": self.team_id, "deleted": False},
        }
        if args.get("icon_emoji"):
            msg["icons"] = {"emoji": args["icon_emoji"]}
        elif args.get("icon_url"):
            msg["icons"] = {"image_48": args["icon_url"]}
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                msg[key] = self.with_block_ids(args[key]) if key == "blocks" else copy.deepcopy(args[key])
        msg.update(extra or {})
        if args.get("thread_ts") and str(args.get("reply_broadcast")).lower() in ("1", "true"):
            msg["subtype"] = "thread_broadcast"
        return self._insert(channel, msg, args.get("thread_ts") or None)

    def edit(self, channel: str, ts: str, editor: str, changes: dict) -> tuple[dict, dict]:
        """Apply changes; returns (previous, current) copies."""
        msg = self._raw(channel, ts)
        previous = copy.deepcopy(msg)
        msg.update(changes)
        msg["edited"] = {"user": editor, "ts": self.next_ts()}
        self.changed()
        return previous, copy.deepcopy(msg)

    def remove(self, channel: str, ts: str) -> dict:
        """Delete a message; a parent with replies stays as a tombstone, like in Slack."""
        msg = self._raw(channel, ts)
        previous = copy.deepcopy(msg)
        if msg.get("reply_count"):
            keep = {k: msg[k] for k in ("ts", "thread_ts", "reply_count", "reply_users", "reply_users_count",
                                        "latest_reply") if k in msg}
            msg.clear()
            msg.update(type="message", subtype="tombstone", text="This message was deleted.",
                       user="USLACKBOT", hidden=True, **keep)
        else:
            del self._store[channel][ts]
            parent = self.find(channel, msg.get("thread_ts")) if msg.get("thread_ts") != ts else None
            if parent is not None:
                replies = self.thread(channel, parent["ts"])
                parent["reply_count"] = len(replies)
                parent["latest_reply"] = replies[-1]["ts"] if replies else parent["ts"]
                parent["reply_users"] = list(dict.fromkeys(r.get("user") or r.get("bot_id") for r in replies))
                parent["reply_users_count"] = len(parent["reply_users"])
        self.changed()
        return previous

    def permalink(self, channel: str, ts: str) -> str:
        msg = self._raw(channel, ts)
        link = f"{PERMALINK_HOST}/archives/{channel}/p{ts.replace('.', '')}"
        if msg.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return link

    def add_ephemeral(self, channel: str, user: str, text: str, blocks: list[dict] | None,
                      thread_ts: str | None) -> Ephemeral:
        eph = Ephemeral(channel=channel, user=user, text=text, blocks=self.with_block_ids(blocks),
                        thread_ts=thread_ts, message_ts=self.next_ts(), at=self.clock())
        self.ephemerals.append(eph)
        self.changed()
        return eph
