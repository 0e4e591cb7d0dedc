"""The Bot API transport (bot/telegram_io/bot_api_http.py): python-telegram-bot's calls over aiohttp keep
their meaning: parameters and files arrive as sent, and failures are PTB's error classes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram_io.bot_api_http import AiohttpRequest
from sandbox.telegram_server import FakeTelegram
from tests.support.http import local_server


async def _bot(tg: FakeTelegram, **timeouts: float) -> Bot:
    bot = Bot(tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot",
              request=AiohttpRequest(**timeouts), get_updates_request=AiohttpRequest(pool_size=1, **timeouts))
    await bot.initialize()
    return bot


@asynccontextmanager
async def _transport(**timeouts: float) -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(**timeouts)
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = await _bot(tg)
    yield bot
    await bot.shutdown()


async def test_a_message_with_its_options_arrives_as_sent(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(1001, "<b>Ünïcode</b> &amp; more", parse_mode="HTML", disable_notification=True)
    [message] = tg.messages_to(1001)
    assert message.text == "<b>Ünïcode</b> &amp; more" and message.parse_mode == "HTML"
    assert message.plain_text == sent.text == "Ünïcode & more" and sent.message_id == message.message_id
    assert message.entities and message.entities[0]["type"] == "bold"
    assert message.params["disable_notification"] in (True, "true", "True")


async def test_a_file_upload_arrives_whole_and_downloads_back(tg: FakeTelegram, bot: Bot) -> None:
    data = bytes(range(256)) * 40
    sent = await bot.send_document(1001, document=data, filename="report.bin", caption="the report")
    assert sent.document is not None and sent.caption == "the report"
    stored = tg.files[sent.document.file_id]
    assert stored.data == data
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == data


async def test_the_api_refusing_is_ptbs_error(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
        await bot.send_message(424242, "nobody there")


async def test_a_dropped_connection_is_a_network_error(tg: FakeTelegram, bot: Bot) -> None:
    tg.drop_next("sendMessage")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(1001, "lost on the way")
    assert tg.token not in str(caught.value)
    await bot.send_message(1001, "the next one goes")
    assert [m.text for m in tg.messages_to(1001)] == ["the next one goes"]


async def test_an_unreachable_api_is_a_network_error_that_does_not_quote_the_token() -> None:
    async with local_server() as port:
        pass  # nothing listens there now
    async with _transport() as request:
        with pytest.raises(NetworkError) as caught:
            await request.do_request(f"http://127.0.0.1:{port}/bot123:SECRET/getMe", "POST")
    # Neither the message nor anything a logged traceback would print (the chain) quotes the token.
    assert "SECRET" not in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_reply_that_never_comes_is_a_timeout() -> None:
    release = asyncio.Event()

    async def stall(_request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    async with local_server(("POST", "/{tail:.*}", stall)) as port, _transport(read_timeout=5.0) as request:
        try:
            with pytest.raises(TimedOut):  # the per-call timeout wins over the default
                await request.do_request(f"http://127.0.0.1:{port}/botX/getMe", "POST", read_timeout=0.05)
        finally:
            release.set()


async def test_a_request_before_initialize_or_after_shutdown_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/botX/getMe", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/botX/getMe", "POST")


async def test_a_proxy_from_the_environment_is_used_unless_the_host_is_excluded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.host}{request.path}")
        return web.json_response({"ok": True, "result": True})

    async with local_server(("*", "/{tail:.*}", proxy)) as port:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("no_proxy", "direct.example")
        async with _transport() as request:
            status, body = await request.do_request("http://api.telegram.example/botX/getMe", "POST")
            assert status == 200 and b'"ok": true' in body
            assert seen == ["POST api.telegram.example/botX/getMe"]  # asked of the proxy, for the real host
            with pytest.raises(NetworkError):  # excluded: asked directly, and that host does not exist
                await request.do_request("http://direct.example/botX/getMe", "POST", connect_timeout=2.0)
    assert len(seen) == 1


async def test_a_file_name_arrives_as_written_not_percent_encoded(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_document(1001, document=b"%PDF-1.4 fake", filename="Счёт март (1).pdf")
    assert sent.document is not None and sent.document.file_name == "Счёт март (1).pdf"


async def test_a_slow_reply_that_keeps_coming_is_not_cut_off() -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):  # 0.8 s in all, more than all the timeouts together; never 0.3 s without a byte
            await response.write(b" ")
            await asyncio.sleep(0.1)
        await response.write(b'{"ok": true, "result": true}')
        return response

    async with local_server(("POST", "/{tail:.*}", trickle)) as port, \
            _transport(connect_timeout=0.1, read_timeout=0.3, write_timeout=0.1, pool_timeout=0.1) as request:
        status, body = await request.do_request(f"http://127.0.0.1:{port}/botX/getFile", "POST")
    assert status == 200 and body.strip() == b'{"ok": true, "result": true}'
