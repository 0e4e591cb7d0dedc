"""Media both ways through the real clients: customers' files into the thread, operators' files to Telegram."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.telegram_types import SentMessage, Upload
from storage import messages
from tests.support.harness import ALICE, BOB, CHANNEL, World

CAROL = 1001
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.7\n" + b"invoice " * 500
OGG = b"OggS\x00\x02" + bytes(4000)


# --- helpers -----------------------------------------------------------------------------------------

async def uploads(world: World, count: int) -> list[dict[str, Any]]:
    return await world.slack.wait_for(lambda: len(world.slack.uploads) >= count and world.slack.uploads,
                                      what=f"{count} upload(s)")


def tg_bytes(world: World, file_id: str) -> bytes:
    return world.tg.files[file_id].data


def no_token_leaked(world: World) -> None:
    """No Slack call, message or upload may carry the Telegram bot token (download links contain it)."""
    seen = repr(world.slack.call_log) + repr(world.slack.messages(CHANNEL))
    for root in world.slack.messages(CHANNEL):
        seen += repr(world.slack.thread(CHANNEL, root["ts"]))
    seen += repr([{k: v for k, v in u.items() if k != "bytes"} for u in world.slack.uploads])
    assert world.tg.token not in seen
    assert world.tg.token.split(":")[1] not in seen


async def owned_thread(world: World) -> str:
    """A conversation Alice has taken over; returns its thread ts."""
    await world.start()
    await world.tg.customer_sends(CAROL, "Can you send me the invoice?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)  # the agent's holding line
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 2)  # "You're now talking with Alice."
    return str(root["ts"])


async def reactions_on(world: World, ts: str, name: str) -> list[str]:
    return await world.slack.wait_for(lambda: name in world.slack.reactions.get((CHANNEL, ts), []) and
                                      world.slack.reactions[(CHANNEL, ts)], what=f":{name}: on {ts}")


# --- customer → Slack --------------------------------------------------------------------------------

async def test_a_customer_photo_is_uploaded_into_the_thread(world: World) -> None:
    await world.start()
    sent = await world.tg.customer_sends_media(CAROL, "photo", caption="the box arrived broken")
    root = await world.root()
    [upload] = await uploads(world, 1)

    largest = sent["photo"][-1]
    assert upload["bytes"] == tg_bytes(world, largest["file_id"])
    assert upload["filename"] == "photo.jpg"
    assert (upload["channel"], upload["thread_ts"]) == (CHANNEL, root["ts"])
    assert "Carol Customer (customer)" in upload["initial_comment"]
    assert "the box arrived broken" in upload["initial_comment"]
    [shared] = await world.thread_has(root["ts"], "the box arrived broken")
    assert shared["subtype"] == "file_share" and shared["files"][0]["name"] == "photo.jpg"

    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        [stored] = [m for m in await messages.find_recent(session, 1) if m.author == "customer"]
    assert stored.text == "[📷 Photo] the box arrived broken"  # what history and search see
    assert (stored.tg_file_id, stored.mime_type) == (largest["file_id"], "image/jpeg")
    assert stored.file_size == largest["file_size"]
    no_token_leaked(world)


async def test_a_document_with_caption_keeps_its_name(world: World) -> None:
    await world.start()
    sent = await world.tg.customer_sends_media(CAROL, "document", caption="my invoice, see the total",
                                               data=PDF, file_name="invoice-0042.pdf")
    root = await world.root()
    [upload] = await uploads(world, 1)
    assert upload["bytes"] == PDF == tg_bytes(world, sent["document"]["file_id"])
    assert upload["filename"] == "invoice-0042.pdf"
    assert upload["thread_ts"] == root["ts"]
    assert "my invoice, see the total" in upload["initial_comment"]


async def test_a_voice_note_is_uploaded_as_audio(world: World) -> None:
    await world.start()
    sent = await world.tg.customer_sends_media(CAROL, "voice", data=OGG)
    [upload] = await uploads(world, 1)
    assert upload["bytes"] == OGG == tg_bytes(world, sent["voice"]["file_id"])
    assert upload["filename"] == "voice.ogg"
    assert "Voice message" in upload["initial_comment"]


async def test_location_venue_and_contact_become_readable_text(world: World) -> None:
    await world.start()
    await world.tg.customer_sends_media(CAROL, "location", latitude=52.520008, longitude=13.404954)
    root = await world.root()
    [location] = await world.thread_has(root["ts"], "📍 Location: 52.520008, 13.404954")
    assert "https://www.openstreetmap.org/?mlat=52.520008&amp;mlon=13.404954" in location["text"]
    assert location["username"] == "Carol Customer (customer)"

    await world.tg.customer_sends_media(CAROL, "venue")
    await world.thread_has(root["ts"], "📍 Venue: *Brandenburger Tor*, Pariser Platz, 10117 Berlin")
    await world.tg.customer_sends_media(CAROL, "contact", first_name="Dora", last_name="Delivery",
                                        phone_number="+4930123456")
    await world.thread_has(root["ts"], "👤 Contact: Dora Delivery, +4930123456")
    assert world.slack.uploads == []


async def test_stickers_static_as_image_animated_as_text(world: World) -> None:
    await world.start()
    await world.tg.customer_sends_media(CAROL, "sticker", emoji="👍")
    [upload] = await uploads(world, 1)
    assert upload["filename"] == "sticker.webp"
    await world.tg.customer_sends_media(CAROL, "sticker", emoji="😀", is_animated=True)
    root = await world.root()
    [text] = await world.thread_has(root["ts"], "Sticker 😀")
    assert "files" not in text and len(world.slack.uploads) == 1


async def test_a_file_over_20_mb_gets_a_clear_note_instead(world: World) -> None:
    await world.start()
    await world.tg.customer_sends_media(CAROL, "document", caption="the full report", file_name="report.pdf",
                                        file_size=25 * MB)
    root = await world.root()
    [note] = await world.thread_has(root["ts"], "report.pdf (25 MB): too large for bots to download")
    assert "ask the customer to send it another way" in note["text"]
    assert "the full report" in note["text"] and note["username"] == "Carol Customer (customer)"
    assert world.slack.uploads == []
    assert "getFile" not in [method for method, _ in world.tg.calls]  # known too big: not even asked


async def test_a_telegram_hiccup_is_retried_and_a_slack_refusal_still_shows_the_message(world: World) -> None:
    await world.start()
    world.tg.fail_next("getFile", status=502, description="Bad Gateway")
    sent = await world.tg.customer_sends_media(CAROL, "photo", caption="first try")
    [upload] = await uploads(world, 1)  # retried after the 502
    assert upload["bytes"] == tg_bytes(world, sent["photo"][-1]["file_id"])

    world.slack.fail_next("files.completeUploadExternal", error="file_uploads_disabled")
    await world.tg.customer_sends_media(CAROL, "photo", caption="second try")
    root = await world.root()
    [shown] = await world.thread_has(root["ts"], "second try")
    assert "photo.jpg could not be attached here (Slack: file_uploads_disabled)" in shown["text"]
    assert shown["username"] == "Carol Customer (customer)"


async def test_an_album_arrives_in_order_and_is_not_interleaved(world: World) -> None:
    await world.start()
    photos = [b"\xff\xd8\xff\xe0" + bytes([n]) * 3000 for n in (1, 2, 3)]
    sent = [await world.tg.customer_sends_media(CAROL, "photo", data=data, media_group_id="album-1",
                                                caption="three angles" if n == 0 else None)
            for n, data in enumerate(photos)]
    root = await world.root()
    got = await uploads(world, 3)
    assert [u["bytes"] for u in got] == photos
    assert [u["bytes"] for u in got] == [tg_bytes(world, s["photo"][-1]["file_id"]) for s in sent]
    assert "three angles" in got[0]["initial_comment"]

    # The agent answers once, after the whole album, not between its items.
    await world.thread_has(root["ts"], "Let me check that with a colleague.")
    assert world.baton is not None
    await world.baton.settled()
    thread = world.slack.thread(CHANNEL, root["ts"])
    kinds = ["file" if m.get("files") else "text" for m in thread]
    assert kinds[:3] == ["file", "file", "file"]
    assert len(world.agent.requests) == 1  # type: ignore[attr-defined]


# --- Slack → customer --------------------------------------------------------------------------------

def upload_of(message: SentMessage, field: str) -> Upload:
    value = message.params[field]
    assert isinstance(value, Upload)
    return value


async def test_an_owner_shares_a_png_and_the_customer_gets_a_photo(world: World) -> None:
    thread_ts = await owned_thread(world)
    shared = await world.slack.user_shares_file(ALICE, CHANNEL, PNG, "label.png", "image/png",
                                                "Here is your *return label*", thread_ts=thread_ts)
    [*_, photo] = await world.tg.wait_for_messages(CAROL, 3)
    assert photo.method == "sendPhoto"
    assert upload_of(photo, "photo").data == PNG
    assert photo.text == "Here is your <b>return label</b>" and photo.parse_mode == "HTML"
    await reactions_on(world, shared["ts"], "white_check_mark")
    # The download used the bot token in a header, never in the URL.
    [download] = world.slack.file_downloads
    assert download["authorized"] and download["query"] == {}
    assert world.slack.bot_token not in repr(world.tg.calls)


async def test_a_pdf_goes_as_a_document_with_its_name(world: World) -> None:
    thread_ts = await owned_thread(world)
    await world.slack.user_shares_file(ALICE, CHANNEL, PDF, "invoice-0042.pdf", "application/pdf",
                                       thread_ts=thread_ts)
    [*_, document] = await world.tg.wait_for_messages(CAROL, 3)
    assert document.method == "sendDocument"
    upload = upload_of(document, "document")
    assert (upload.data, upload.filename) == (PDF, "invoice-0042.pdf")
    assert document.message["document"]["file_name"] == "invoice-0042.pdf"
    assert document.text is None


async def test_an_ogg_voice_note_goes_as_a_voice_message(world: World) -> None:
    thread_ts = await owned_thread(world)
    await world.slack.user_shares_file(ALICE, CHANNEL, OGG, "answer.ogg", "audio/ogg", thread_ts=thread_ts)
    [*_, voice] = await world.tg.wait_for_messages(CAROL, 3)
    assert voice.method == "sendVoice"
    assert upload_of(voice, "voice").data == OGG


async def test_a_caption_too_long_for_telegram_goes_first_as_text(world: World) -> None:
    thread_ts = await owned_thread(world)
    long_text = "Please read carefully. " * 60  # ~1380 characters: over the 1024 caption limit
    await world.slack.user_shares_file(ALICE, CHANNEL, PDF, "terms.pdf", "application/pdf", long_text,
                                       thread_ts=thread_ts)
    [*_, text, document] = await world.tg.wait_for_messages(CAROL, 4)
    assert text.method == "sendMessage" and (text.text or "").strip() == long_text.strip()
    assert document.method == "sendDocument" and document.text is None


async def test_a_non_owners_file_share_stays_a_note(world: World) -> None:
    thread_ts = await owned_thread(world)
    await world.slack.user_shares_file(BOB, CHANNEL, PNG, "idea.png", "image/png", "look at this",
                                       thread_ts=thread_ts)
    await world.ephemeral_to(BOB, "Alice Operator has taken over this conversation")
    assert world.baton is not None
    await world.baton.settled()
    assert [m.method for m in world.tg.messages_to(CAROL)] == ["sendMessage", "sendMessage"]
    assert world.slack.file_downloads == []


async def test_take_over_and_send_delivers_a_shared_file(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Where do I find the form?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.user_shares_file(BOB, CHANNEL, PDF, "form.pdf", "application/pdf", "This one",
                                       thread_ts=root["ts"])
    prompt = await world.ephemeral_to(BOB, "was *not* sent")
    await world.slack.click_ephemeral_button(BOB, prompt, "takeover_and_send")
    [*_, document] = await world.tg.wait_for_messages(CAROL, 3)
    assert document.method == "sendDocument" and document.text == "This one"
    assert upload_of(document, "document").data == PDF


async def test_a_60_mb_file_is_not_sent_and_the_thread_says_why(world: World) -> None:
    thread_ts = await owned_thread(world)
    shared = await world.slack.user_shares_file(ALICE, CHANNEL, bytes(60 * MB), "site-visit.mov",
                                                "video/quicktime", thread_ts=thread_ts)
    await reactions_on(world, shared["ts"], "warning")
    [note] = await world.thread_has(thread_ts, "site-visit.mov (60 MB) is too large for Telegram")
    assert "Not delivered to the customer" in note["text"]
    assert world.baton is not None
    await world.baton.settled()
    assert len(world.tg.messages_to(CAROL)) == 2  # the holding line and the takeover notice only
    assert world.slack.file_downloads == []  # too big to send: not even downloaded


async def test_slack_file_links_need_the_bot_token_in_a_header(world: World) -> None:
    await world.start()
    shared = await world.slack.user_shares_file(ALICE, CHANNEL, PDF, "x.pdf", "application/pdf")
    url = shared["files"][0]["url_private_download"]
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as anonymous:
            assert anonymous.status == 401
        async with http.get(url, params={"token": world.slack.bot_token}) as in_url:
            assert in_url.status == 401
        async with http.get(url, headers={"Authorization": f"Bearer {world.slack.bot_token}"}) as ok:
            assert ok.status == 200 and await ok.read() == PDF
