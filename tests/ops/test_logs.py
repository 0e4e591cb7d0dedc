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


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_every_configured_secret_is_redacted(fmt: str, restore_logging: None) -> None:
    from bot.config import parse_settings

    webhook_secret, signing_secret, api_key = "whsec_Zq8-kT3vLw9", "8f14e45fceea167a5a36dedd4bea2543", "sk-proj-Ab1_xY"
    settings = parse_settings({
        "telegram": {"token": BOT_TOKEN, "mode": "webhook", "webhook_url": "https://bot.example.com/telegram/webhook",
                     "webhook_secret": webhook_secret},
        "slack": {"bot_token": XOXB, "mode": "http", "signing_secret": signing_secret, "channel": "C0SUPPORT"},
        "storage": {"url": "postgresql+asyncpg://baton:pg-Pa55word@db.example.com/baton"},
        "agent": {"backend": "openai", "model": "gpt-4o-mini", "api_key": api_key},
        "access": {"operators": ["U0ALICE"]},
    }, env={})
    stream = io.StringIO()
    logs.setup("DEBUG", fmt, stream=stream, secrets=logs.secrets_of(settings))
    for name in LOUD:
        logging.getLogger(name).setLevel(logging.DEBUG)
    async with FakeTelegram(token=BOT_TOKEN) as tg:
        bot = Bot(BOT_TOKEN, base_url=f"{tg.url}/bot")
        await bot.set_webhook("https://bot.example.com/telegram/webhook", secret_token=webhook_secret)  # PTB: DEBUG
        await bot.shutdown()
    log = logging.getLogger("test")
    log.info("verifying with %s", signing_secret)
    log.info("headers %s", {"Authorization": f"Bearer {api_key}"})
    log.info("connecting to %s", settings.storage.url)
    log.info("quoted: %s", json.dumps({"s": signing_secret}))
    out = stream.getvalue()
    assert "secret_token" in out, "PTB logged the setWebhook parameters"
    for secret in (webhook_secret, signing_secret, api_key, "pg-Pa55word", *SECRETS):
        assert secret not in out
