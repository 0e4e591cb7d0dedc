"""The fake Telegram server, exercised through the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import error as tg_error

from sandbox.telegram_server import FakeTelegram
from tests.support.http import local_server

# PTB 22 itself warns about RetryAfter.retry_after becoming a timedelta; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

CAROL = 4242
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(first_update_id=500_000)
    await server.start()
    server.add_customer(CAROL, "Carol", last_name="Customer", username="carol")
    yield server
    await server.stop()


def make_bot(fake: FakeTelegram, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(
        token or fake.token, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot"
    )


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with make_bot(fake) as client:
        yield client


async def wait_until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll a condition (not a fixed delay) for state the fake exposes no event for."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_get_me_describes_the_bot(bot: telegram.Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "baton_test_bot", True)
    assert fake.calls[0][0] == "getMe"


async def test_customer_message_is_polled_then_forgotten_after_confirmation(
    bot: telegram.Bot, fake: FakeTelegram
) -> None:
    sent = await fake.customer_sends(CAROL, "/start")
    assert sent["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [500_000]
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.from_user is not None and message.from_user.username == "carol"
    assert message.chat.type == "private" and message.chat.id == CAROL
    assert message.entities[0].type == "bot_command"

    assert len(await bot.get_updates()) == 1  # not confirmed yet: delivered again
    assert await bot.get_updates(offset=updates[0].update_id + 1) == ()
    assert fake.pending_updates == []


async def test_long_poll_wakes_as_soon_as_an_update_arrives(bot: telegram.Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await wait_until(lambda: any(method == "getUpdates" for method, _ in fake.calls))
    started = time.monotonic()
    await fake.customer_sends(CAROL, "hello?")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 2
    assert updates[0].message is not None and updates[0].message.text == "hello?"


async def test_send_message_plain_and_html(bot: telegram.Bot, fake: FakeTelegram) -> None:
    plain = await bot.send_message(CAROL, "Hi Carol")
    assert plain.text == "Hi Carol" and plain.from_user is not None and plain.from_user.is_bot
    html = "<b>Order</b> #42 &amp; <a href='https://example.com/o/42'>details</a>"
    rich = await bot.send_message(CAROL, html, parse_mode="HTML")
    assert rich.message_id == plain.message_id + 1
    assert rich.text == "Order #42 & details"
    assert [(e.type, e.offset, e.length) for e in rich.entities] == [("bold", 0, 5), ("text_link", 12, 7)]
    assert rich.entities[1].url == "https://example.com/o/42"

    record = fake.messages_to(CAROL)[-1]
    assert (record.method, record.text, record.parse_mode) == ("sendMessage", html, "HTML")
    assert record.plain_text == "Order #42 & details"
    assert record.params["chat_id"] == CAROL


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ],
)
async def test_invalid_html_is_rejected(
    bot: telegram.Bot, fake: FakeTelegram, html: str, detail: str
) -> None:
    with pytest.raises(tg_error.BadRequest, match="parse entities") as info:
        await bot.send_message(CAROL, html, parse_mode="HTML")
    assert detail.lower() in info.value.message.lower()  # PTB re-capitalises the description
    assert fake.sent == []
    assert fake.calls[-1][0] == "sendMessage"  # failed calls are still observed


async def test_text_limits(bot: telegram.Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CAROL, "x" * 4096)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CAROL, "x" * 4097)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CAROL, "<b> </b>", parse_mode="HTML")
    with pytest.raises(tg_error.BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "anyone?")
    assert len(fake.sent) == 1


async def test_fail_next_429_raises_retry_after(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.fail_next("*", status=429, description="Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(tg_error.RetryAfter) as info:
        await bot.send_message(CAROL, "first")
    delay = info.value.retry_after
    assert (delay.total_seconds() if isinstance(delay, dtm.timedelta) else delay) == 7
    await bot.send_message(CAROL, "second")  # only the next call failed
    assert [m.text for m in fake.sent] == ["second"]


async def test_drop_next_is_a_network_error(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.drop_next("sendMessage")
    with pytest.raises(tg_error.NetworkError):
        await bot.send_message(CAROL, "lost")
    assert (await bot.send_message(CAROL, "kept")).text == "kept"


async def test_per_chat_flood_control(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.per_chat_per_second = 1
    await bot.send_message(CAROL, "one")
    with pytest.raises(tg_error.RetryAfter):
        await bot.send_message(CAROL, "two")


async def test_blocked_customer_gives_forbidden(bot: telegram.Bot, fake: FakeTelegram) -> None:
    await fake.customer_blocks_bot(CAROL)
    with pytest.raises(tg_error.Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CAROL, "still there?")
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_wrong_token_is_invalid_token(fake: FakeTelegram) -> None:
    with pytest.raises(tg_error.InvalidToken):
        async with make_bot(fake, token="999:wrong-token"):
            pass


async def test_wire_format_errors_and_case_insensitive_methods(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/bot1:nope/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{fake.url}/bot{fake.token}/fly") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        url = f"{fake.url}/bot{fake.token}/SENDMESSAGE"
        async with http.post(url, json={"chat_id": CAROL}) as response:
            assert response.status == 400
            assert (await response.json())["description"] == "Bad Request: message text is empty"
        async with http.get(url, params={"chat_id": str(CAROL), "text": "via GET"}) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "via GET"
            expected_chat = {"id": CAROL, "first_name": "Carol", "last_name": "Customer"}
            assert body["result"]["chat"] == {**expected_chat, "username": "carol", "type": "private"}


async def test_edit_and_delete(bot: telegram.Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CAROL, "draft")
    edited = await bot.edit_message_text("final", chat_id=CAROL, message_id=sent.message_id)
    assert edited.text == "final" and edited.edit_date is not None
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("final", chat_id=CAROL, message_id=sent.message_id)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CAROL, message_id=999)
    assert await bot.delete_message(CAROL, sent.message_id)
    assert [e.text for e in fake.edits] == ["final"] and fake.deletions == [(CAROL, sent.message_id)]



async def test_bot_messages_older_than_48_hours_cannot_be_edited_or_deleted(bot: telegram.Bot,
                                                                            fake: FakeTelegram) -> None:
    old = await bot.send_message(CAROL, "yesterday's news")
    fake.advance_clock(48 * 3600 + 60)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("fixed", chat_id=CAROL, message_id=old.message_id)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message can't be deleted for everyone"):
        await bot.delete_message(CAROL, old.message_id)
    fresh = await bot.send_message(CAROL, "today's news")  # dated by the advanced clock: still editable
    assert fresh.date.timestamp() >= time.time() + 48 * 3600
    await bot.edit_message_text("today's news, fixed", chat_id=CAROL, message_id=fresh.message_id)
    assert await bot.delete_message(CAROL, fresh.message_id)
    assert [e.text for e in fake.edits] == ["today's news, fixed"]
    assert await fake.wait_until(lambda: fake.deletions, what="the deletion") == [(CAROL, fresh.message_id)]

async def test_webhook_delivery_with_secret(bot: telegram.Bot, fake: FakeTelegram) -> None:
    received: list[tuple[dict, str | None, str]] = []

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((await request.json(), secret, request.content_type))
        return web.Response(text="ok")

    async with local_server(("POST", "/hook", hook)) as port:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr-et_")
        with pytest.raises(tg_error.Conflict):
            await bot.get_updates()
        message = await fake.customer_sends(CAROL, "via webhook")
        assert fake.webhook_deliveries == [(500_000, 200)]
        body, secret, content_type = received[0]
        assert body == {"update_id": 500_000, "message": message}
        assert (secret, content_type) == ("s3cr-et_", "application/json")
        assert await fake.push_update({"message": message}) == 200
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        with pytest.raises(tg_error.BadRequest, match=r"(?i)unallowed characters"):
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="bad token!")
    assert await bot.delete_webhook()
    await fake.customer_sends(CAROL, "back to polling")
    assert (await bot.get_updates())[0].message.text == "back to polling"


async def test_send_photo_then_get_file_roundtrip(bot: telegram.Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_photo(CAROL, photo=JPEG, caption="<i>receipt</i>", parse_mode="HTML")
    assert sent.caption == "receipt" and sent.caption_entities[0].type == "italic"
    largest = sent.photo[-1]
    assert len(sent.photo) == 3 and largest.file_size == len(JPEG)
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None and file.file_path.startswith(f"{fake.url}/file/bot")
    assert bytes(await file.download_as_bytearray()) == JPEG
    record = fake.sent[-1]
    assert (record.method, record.text, record.plain_text) == ("sendPhoto", "<i>receipt</i>", "receipt")
    # Re-sending by file_id needs no upload.
    again = await bot.send_photo(CAROL, photo=largest.file_id)
    assert again.photo[-1].file_id == largest.file_id


async def test_customer_photo_can_be_downloaded(bot: telegram.Bot, fake: FakeTelegram) -> None:
    await fake.customer_sends_media(CAROL, "photo", caption="broken part")
    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.caption == "broken part"
    photo = message.photo[-1]
    assert photo.width > message.photo[0].width
    data = await (await bot.get_file(photo.file_id)).download_as_bytearray()
    assert bytes(data[:3]) == b"\xff\xd8\xff" and len(data) == photo.file_size


async def test_files_over_20mb_cannot_be_downloaded(bot: telegram.Bot, fake: FakeTelegram) -> None:
    sent = await fake.customer_sends_media(CAROL, "document", file_size=25 * 1024 * 1024)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(sent["document"]["file_id"])


async def test_send_media_group(bot: telegram.Bot, fake: FakeTelegram) -> None:
    media = [telegram.InputMediaPhoto(JPEG, caption="front"), telegram.InputMediaPhoto(JPEG)]
    album = await bot.send_media_group(CAROL, media)
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert [m.method for m in fake.sent] == ["sendMediaGroup", "sendMediaGroup"]
    with pytest.raises(tg_error.BadRequest, match=r"(?i)too many messages"):
        await bot.send_media_group(CAROL, [telegram.InputMediaPhoto(JPEG)] * 11)


async def test_wait_for_messages(bot: telegram.Bot, fake: FakeTelegram) -> None:
    waiter = asyncio.create_task(fake.wait_for_messages(CAROL, 1))
    await bot.send_message(CAROL, "are you there?")
    assert [m.text for m in await waiter] == ["are you there?"]
    with pytest.raises(AssertionError, match="expected 2 message") as info:
        await fake.wait_for_messages(CAROL, 2, timeout=0.05)
    assert "are you there?" in str(info.value)


async def test_control_page_and_sandbox_send(bot: telegram.Bot, fake: FakeTelegram) -> None:
    await fake.customer_sends(CAROL, "<script>alert(1)</script>")
    await bot.send_message(CAROL, "We are on it")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/") as response:
            page = await response.text()
        assert response.status == 200 and "Carol" in page and "We are on it" in page
        # escaped; "/script" is a bot command to Telegram, so the page marks it as one
        assert "&lt;script&gt;alert(1)&lt;" in page and "<script>alert" not in page
        form = {"user_id": "777", "first_name": "Dana", "text": "new here"}
        async with http.post(f"{fake.url}/_sandbox/send", data=form, allow_redirects=False) as response:
            assert response.status == 303
        async with http.get(f"{fake.url}/_sandbox/chats") as response:
            chats = (await response.json())["chats"]
    carol = next(c for c in chats if c["user"]["id"] == CAROL)
    assert [(m["direction"], m.get("text")) for m in carol["messages"]] == [
        ("in", "<script>alert(1)</script>"),
        ("out", "We are on it"),
    ]
    updates = await bot.get_updates()
    assert updates[-1].message is not None and updates[-1].message.from_user.first_name == "Dana"
    assert json.dumps(chats)  # plain JSON-serialisable data
