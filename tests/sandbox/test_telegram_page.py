"""The Telegram sandbox page shows what a Telegram client shows: formatting, keyboards, media."""

from __future__ import annotations

import asyncio

import aiohttp
import telegram

from sandbox.telegram_console import formatted, render_message
from sandbox.telegram_server import FakeTelegram


def test_entities_become_html_with_utf16_offsets() -> None:
    text = "👋 Hi Alice, see our shop"  # the emoji is two UTF-16 code units
    entities = [{"type": "bold", "offset": 6, "length": 5},
                {"type": "text_link", "offset": 21, "length": 4, "url": "https://example.com/?a=1&b=2"}]
    html = formatted(text, entities)
    assert html == ('👋 Hi <b>Alice</b>, see our <a href="https://example.com/?a=1&amp;b=2" target="_blank" '
                    'rel="noopener">shop</a>')


def test_nested_entities_and_escaping() -> None:
    html = formatted("<b> bold italic", [{"type": "bold", "offset": 4, "length": 11},
                                         {"type": "italic", "offset": 9, "length": 6}])
    assert html == "&lt;b&gt; <b>bold <i>italic</i></b>"


def test_inline_keyboard_buttons_press_and_links_open() -> None:
    message = {"message_id": 7, "direction": "out", "date": 1_700_000_000, "text": "How did we do?",
               "reply_markup": {"inline_keyboard": [[{"text": "1 ★", "callback_data": "csat:1:1"}],
                                                    [{"text": "Open", "url": "https://example.com"}]]}}
    html = render_message(message)
    assert '<button type="button" class="kb-btn" data-press="csat:1:1">1 ★</button>' in html
    assert '<a class="kb-btn" href="https://example.com"' in html


def test_media_shows_as_photo_file_voice_and_place() -> None:
    photo = {"message_id": 1, "direction": "in", "date": 0, "photo": [{"file_id": "small"}, {"file_id": "big"}],
             "caption": "my parcel"}
    assert '<img class="photo" src="/_sandbox/files/big"' in render_message(photo)
    voice = {"message_id": 2, "direction": "in", "date": 0, "voice": {"file_id": "v", "duration": 3}}
    assert "🎤 Voice message · 0:03" in render_message(voice)
    place = {"message_id": 3, "direction": "in", "date": 0, "location": {"latitude": 52.5, "longitude": 13.4}}
    assert "📍 Location · 52.5, 13.4" in render_message(place)
    doc = {"message_id": 4, "direction": "out", "date": 0,
           "document": {"file_id": "d", "file_name": "invoice.pdf", "file_size": 2048}}
    assert 'download="invoice.pdf">📄 <span>invoice.pdf</span><small>2.0 KB</small>' in render_message(doc)


async def _next_event(stream: aiohttp.ClientResponse) -> bytes:
    while True:
        line = await stream.content.readline()
        if line.startswith(b"data:"):
            return line.strip()


async def test_page_is_told_of_changes_and_shows_typing_until_the_message() -> None:
    async with FakeTelegram() as fake, aiohttp.ClientSession() as http:
        fake.add_customer(501, "Rosa", username="rosa", language_code="es")
        bot = telegram.Bot(fake.token, base_url=f"{fake.url}/bot")
        async with bot, http.get(f"{fake.url}/_sandbox/events") as events:
            assert await _next_event(events) == b"data: change"  # at once, so the page loads fresh
            await bot.send_chat_action(501, "typing")
            assert await asyncio.wait_for(_next_event(events), 5) == b"data: change"
            async with http.get(f"{fake.url}/_sandbox/fragments?chat=501") as r:
                parts = await r.json()
            assert parts["typing"] and "typing…" in parts["chat"] and "Rosa" in parts["list"]
            await bot.send_message(501, "<b>Hola</b> Rosa", parse_mode="HTML")
            assert await asyncio.wait_for(_next_event(events), 5) == b"data: change"
            async with http.get(f"{fake.url}/_sandbox/fragments?chat=501") as r:
                parts = await r.json()
            assert not parts["typing"] and "<b>Hola</b> Rosa" in parts["chat"]
