"""The Telegram sandbox page shows what a Telegram client shows: formatting, keyboards, media."""

from __future__ import annotations

from sandbox.telegram_console import formatted, render_message


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
