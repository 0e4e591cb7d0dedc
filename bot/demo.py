"""The local demo: both platform sandboxes, Baton between them, and a scripted conversation printed live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import yaml

from bot.app import Baton
from bot.config import parse_settings
from sandbox.slack_mrkdwn import Mrkdwn
from sandbox.slack_server import FakeSlack
from sandbox.telegram_server import FakeTelegram

CHANNEL, ALERTS, ALICE = "C0SUPPORT", "C0ALERTS", 4242
OLIVIA, OMAR, ADA, SAM = "U0OLIVIA", "U0OMAR", "U0ADA", "U0SAM"
# The playground's people: two operators, an admin and a colleague who is not an operator.
PEOPLE = [(OLIVIA, "olivia", "Olivia Operator", "operator"), (OMAR, "omar", "Omar Okafor", "operator"),
          (ADA, "ada", "Ada Admin", "admin"), (SAM, "sam", "Sam Sales", "not an operator")]
CUSTOMERS = [(ALICE, "Alice", "Martin", "alice_m", "en"), (4343, "Bruno", "Keller", "bruno_k", "de"),
             (4444, "Chiara", "Rossi", None, "it")]
KNOWLEDGE = Path(__file__).parent / "agent" / "knowledge.example.md"
MANIFEST = Path(__file__).parent.parent / "operator_bridge" / "manifest.yml"
# Libraries that announce their start-up at INFO; the demo tells its own story instead.
_CHATTY = {"alembic", "slack_bolt", "slack_sdk", "telegram", "httpx", "apscheduler", "aiohttp", "bot",
           "operator_bridge", "storage", "sandbox"}
_reader: Mrkdwn | None = None  # how the demo's Slack reads mrkdwn (names, local times, emoji)


def _say(side: str, who: str, text: str) -> None:
    colour = {"telegram": "\033[36m", "slack": "\033[35m"}[side]
    label = "Telegram" if side == "telegram" else "Slack   "
    if side == "slack" and _reader is not None:
        text = _reader.to_text(text or "")  # as a reader's Slack would show it, not its markup
    lines = [line for line in text.strip().splitlines() if line.strip()] or [""]
    print(f"{colour}[{label}]\033[0m {who}: {lines[0]}")
    for line in lines[1:]:
        print(f"{' ' * (len(label) + 4 + len(who))}{line}")


class Demo:
    def __init__(self, tg: FakeTelegram, slack: FakeSlack) -> None:
        self.tg, self.slack = tg, slack

    async def customer(self, text: str, *, replies: int = 1) -> None:
        before = len(self.tg.messages_to(ALICE))
        _say("telegram", "Alice → bot", text)
        await self.tg.customer_sends(ALICE, text)
        await self.bot_replies(before, replies)

    async def bot_replies(self, before: int, count: int) -> None:
        if count:
            sent = await self.tg.wait_for_messages(ALICE, before + count, timeout=15)
            for message in sent[before:]:
                _say("telegram", "bot → Alice", message.plain_text or message.text or "")

    async def thread(self, root_ts: str, needle: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.slack.thread(CHANNEL, root_ts) if needle in (m.get("text") or "")), None)

        message = await self.slack.wait_for(found, timeout=15, what=needle)
        who = message.get("username") if message.get("bot_id") else "Olivia Operator"
        _say("slack", f"#support thread, {'Baton' if who == 'baton' else who}", message["text"])
        return message

    async def card(self, root_ts: str, needle: str) -> None:
        def status() -> str | None:
            for block in self.slack.message(CHANNEL, root_ts).get("blocks", []):
                if block.get("block_id") == "status" and needle in block["text"]["text"]:
                    return str(block["text"]["text"])
            return None

        _say("slack", "#support thread card", await self.slack.wait_for(status, timeout=15, what=needle))


async def play(demo: Demo) -> None:
    slack = demo.slack
    await demo.customer("/start")
    await demo.customer("How long does shipping take?", replies=0)
    root = await slack.wait_for(lambda: slack.messages(CHANNEL) and slack.messages(CHANNEL)[0], timeout=15,
                                what="the thread")
    _say("slack", "#support", f"new thread: {root['text']}")
    await demo.thread(root["ts"], "How long does shipping take?")
    await demo.bot_replies(1, 1)
    await demo.thread(root["ts"], "Orders leave our warehouse")

    await demo.customer("Do you offer gift wrapping for a wedding present?")
    await demo.thread(root["ts"], "Needs a human")

    _say("slack", "Olivia", "presses [Take over]")
    await slack.click_button(OLIVIA, CHANNEL, root["ts"], "takeover")
    await demo.card(root["ts"], "has taken over")
    await demo.bot_replies(3, 1)

    reply = "Hi Alice, Olivia here! Yes: I've added gift wrapping to your order, *free of charge*."
    _say("slack", "Olivia (in the thread)", reply)
    await slack.user_posts(OLIVIA, CHANNEL, reply, thread_ts=root["ts"])
    await demo.bot_replies(4, 1)

    await demo.customer("Thank you so much!", replies=0)
    await demo.thread(root["ts"], "Thank you so much!")

    _say("slack", "Olivia", "presses [Hand back to agent]")
    await slack.click_button(OLIVIA, CHANNEL, root["ts"], "handback")
    await demo.card(root["ts"], "Agent is answering")
    await demo.bot_replies(5, 1)


class _StartUpNoise(logging.Filter):
    """Drops the libraries' (and Baton's own) INFO lines: the demo tells its story itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".")[0] not in _CHATTY


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Below DEBUG, the demo's terminal shows the story and warnings, not every library's start-up.
    A filter on the root handlers, because some libraries (Bolt) set their loggers' levels themselves."""
    handlers = list(logging.getLogger().handlers)
    noise = _StartUpNoise()
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for handler in handlers:
            handler.addFilter(noise)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(noise)


async def start_playground(port: int, workdir: Path) -> tuple[FakeTelegram, FakeSlack, Baton]:
    """Both sandboxes with the playground's people and customers, and Baton running between them."""
    global _reader
    tg, slack = FakeTelegram(), FakeSlack()
    await tg.start(port=port + 1 if port else 0)
    try:
        await slack.start(port=port)
    except OSError:
        await tg.stop()
        await slack.stop()
        raise
    slack.add_channel(CHANNEL, "support")
    slack.add_channel(ALERTS, "support-alerts")
    slack.manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    for user_id, handle, name, role in PEOPLE:
        slack.add_user(user_id, handle, real_name=name)
        slack.users[user_id]["profile"]["title"] = role
    for user_id, first, last, username, language in CUSTOMERS:
        tg.add_customer(user_id, first, last_name=last, username=username, language_code=language)
    _reader = Mrkdwn(lambda uid: str(slack.users.get(uid, {}).get("real_name", uid)),
                     lambda cid: str(slack.channels.get(cid, {}).get("name", cid)))
    settings = parse_settings({
        "telegram": {"token": tg.token, "api_url": tg.url, "poll_timeout": 10},
        "slack": {"bot_token": slack.bot_token, "app_token": slack.app_token, "api_url": slack.api_url,
                  "channel": CHANNEL, "alerts_channel": ALERTS},
        "server": {"host": "127.0.0.1", "port": 0},
        "storage": {"url": f"sqlite+aiosqlite:///{workdir / 'baton.db'}"},
        "agent": {"knowledge_base": str(KNOWLEDGE)},
        "access": {"operators": [OLIVIA, OMAR], "admins": [ADA]},
    }, env={})
    baton = Baton(settings)
    await baton.start()
    return tg, slack, baton


async def run_demo(port: int = 8090, *, keep_running: bool = True) -> None:
    """Until the script ends (keep_running=False) or SIGINT/SIGTERM; everything it made is removed on the way out."""
    with quiet_libraries():
        await _run_demo(port, keep_running)


async def _run_demo(port: int, keep_running: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    workdir = Path(tempfile.mkdtemp(prefix="baton-demo-"))
    started: tuple[FakeTelegram, FakeSlack, Baton] | None = None
    try:
        started = await start_playground(port, workdir)
        tg, slack, _baton = started
        print(f"Baton is running against the local sandboxes (database in {workdir}, removed at exit).\n")
        if await _until_stopped(play(Demo(tg, slack)), stop):
            slack_page, tg_page = slack.url.rstrip("/") + "/", tg.url.rstrip("/") + "/"
            print(f"\nThe sandboxes keep running.\n  Slack:    {slack_page}  (switch between Olivia and Omar "
                  "(operators), Ada (admin) and Sam (not an operator); press the card's buttons, reply in the "
                  "thread, try /takeover)\n"
                  f"  Telegram: {tg_page}  (write to the bot as Alice, Bruno, Chiara or a new customer)\n"
                  "Press Ctrl-C to stop.", flush=True)
            if keep_running:
                await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if started is not None:
            tg, slack, baton = started
            await baton.stop()
            await slack.stop()
            await tg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def _until_stopped(script: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Play the script unless a signal comes first; True when it played to the end."""
    playing = asyncio.create_task(script, name="demo-script")
    stopping = asyncio.create_task(stop.wait(), name="demo-stop")
    await asyncio.wait({playing, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for task in (playing, stopping):
        task.cancel()
    await asyncio.gather(stopping, return_exceptions=True)
    if playing.cancelled() or not playing.done():
        await asyncio.gather(playing, return_exceptions=True)
        return False
    playing.result()  # the script's own failure, if any
    return True
