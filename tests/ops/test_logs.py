"""No token ever reaches a log line, in text or JSON, even when httpx and PTB log full request URLs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import InvalidToken

from bot import logs
from sandbox.telegram_server import FakeTelegram

BOT_TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
XOXB = "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
XAPP = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
LOUD = ("httpx", "httpcore", "telegram", "slack_sdk")
SECRETS = (BOT_TOKEN, BOT_TOKEN.split(":")[1], XOXB, XAPP)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loud = {name: logging.getLogger(name).level for name in LOUD}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in loud.items():
        logging.getLogger(name).setLevel(saved)


def _log_everything(stream: io.StringIO, fmt: str) -> None:
    logs.setup("DEBUG", fmt, stream=stream)
    for name in LOUD:
        logging.getLogger(name).setLevel(logging.DEBUG)  # as loud as a debugging operator would make them
    log = logging.getLogger("test")
    log.info("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
    log.info("encoded: https://example.test/?u=bot%s", BOT_TOKEN.replace(":", "%3A"))
    log.warning("headers: %s", {"Authorization": f"Bearer {XOXB}", "app": XAPP})
    log.info("with extra", extra={"token": XOXB})
    try:
        raise RuntimeError(f"failed calling https://api.telegram.org/bot{BOT_TOKEN}/getMe with {XAPP}")
    except RuntimeError:
        log.exception("a traceback carrying the token")


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_no_token_in_logs_even_from_httpx_and_ptb(fmt: str, restore_logging: None) -> None:
    stream = io.StringIO()
    _log_everything(stream, fmt)
    # Real library logging: PTB and httpx against a fake Bot API that rejects this (realistic) token.
    async with FakeTelegram(token="1111111:another-token-not-this-one") as tg:
        bot = Bot(BOT_TOKEN, base_url=f"{tg.url}/bot")
        with pytest.raises(InvalidToken):
            await bot.get_me()
        await bot.shutdown()
    out = stream.getvalue()
    assert "/bot<redacted>/getMe" in out, "httpx logged the request URL (redacted)"
    for secret in SECRETS:
        assert secret not in out
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
        assert any(line.get("token") == "<redacted>" for line in lines)
        assert any("exception" in line for line in lines)
