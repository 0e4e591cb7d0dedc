"""Take over by shortcut and by /takeover, the campaign modal, the App Home, files and phone width."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from playwright.sync_api import Locator, expect

from bot.demo import ADA, OLIVIA, OMAR, SAM
from tests.browser.conftest import Playground
from tests.browser.pages import SlackWorkspacePage, TelegramChat, customer_name, stored


def png_bytes(width: int = 40, height: int = 24) -> bytes:
    """A small, valid PNG (a blue rectangle) a browser can decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x33\x90\xec" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _shortcut_of_first_message(context: Any, playground: Playground, tag: str, text: str
                               ) -> tuple[TelegramChat, SlackWorkspacePage, Locator]:
    """A new customer writes `text`; Omar opens the thread and the message's menu: its "Take over" item."""
    first, last, username = customer_name(playground, tag)
    telegram = TelegramChat(context.new_page(), playground).start(first, last, username, "en", text)
    slack = SlackWorkspacePage(context.new_page(), playground, OMAR)
    slack.open_thread(f"{first} {last}")
    message = slack.thread_message(text)
    message.hover()
    message.get_by_role("button", name="More actions").click()
    return telegram, slack, message.get_by_role("button", name="Take over conversation")


def test_take_over_by_message_shortcut(context: Any, playground: Playground) -> None:
    telegram, slack, shortcut = _shortcut_of_first_message(context, playground, "Fay", "Is anyone there?")
    shortcut.click()
    expect(slack.thread_card()).to_contain_text("Omar Okafor has taken over since")
    telegram.sees("You're now talking with Omar.")


def test_an_open_message_menu_stays_open_when_a_message_arrives(context: Any, playground: Playground) -> None:
    telegram, slack, shortcut = _shortcut_of_first_message(context, playground, "Ike", "Hello?")
    expect(shortcut).to_be_visible()
    telegram.send("Still there?")  # the thread is redrawn with the new message
    expect(slack.thread_message("Still there?")).to_be_visible()
    expect(shortcut).to_be_visible()


def test_take_over_from_the_takeover_list(context: Any, playground: Playground) -> None:
    first, last, username = customer_name(playground, "Gus")
    TelegramChat(context.new_page(), playground).start(first, last, username, "en", "I want a refund")
    slack = SlackWorkspacePage(context.new_page(), playground, OLIVIA)
    expect(slack.card(f"{first} {last}")).to_contain_text("Waiting for a human")

    slack.page.get_by_label("Message the channel").fill("/take")
    hint = slack.page.locator(".hints button", has_text="/takeover")
    expect(hint).to_contain_text("[#12 | @username | telegram id | thread link]")  # the manifest's usage hint
    hint.click()
    expect(slack.page.get_by_label("Message the channel")).to_have_value("/takeover ")
    slack.page.get_by_label("Message the channel").press("Enter")

    listing = slack.page.locator("#main .ephemeral", has_text="waiting for a human").last
    row = listing.locator(".sk-section", has_text=f"{first} {last}")
    expect(row).to_contain_text("🚨 waiting since")
    row.get_by_role("button", name="Take over").click()  # the button sits in the customer's own row
    expect(slack.card(f"{first} {last}")).to_contain_text("Olivia Operator has taken over since")


def test_campaign_created_from_the_modal_reaches_the_customer(context: Any, playground: Playground,
                                                              tmp_path: Any) -> None:
    slack = SlackWorkspacePage(context.new_page(), playground, ADA)
    slack.command("/baton campaign new")
    modal = slack.page.get_by_role("dialog", name="New campaign")
    expect(modal).to_be_visible()
    modal.get_by_label("Message").fill("*Spring sale*: 20% off for you")
    modal.get_by_label("Button label").fill("Shop now")
    modal.get_by_role("button", name="Create").click()  # Baton's answer is shown next to the field
    expect(modal.get_by_role("alert")).to_have_text("A button needs a link.")
    expect(modal.get_by_label("Message")).to_have_value("*Spring sale*: 20% off for you")  # nothing typed is lost
    modal.get_by_label("Button label").fill("")
    modal.get_by_label("Audience").select_option("ids")
    ids = tmp_path / "customers.csv"
    ids.write_text("telegram_id\n4343\n")
    modal.get_by_label("…or a CSV file of Telegram ids").set_input_files(str(ids))
    modal.get_by_role("button", name="Create").click()
    expect(modal).to_have_count(0)

    slack.page.get_by_role("link", name="# support-alerts").click()
    expect(slack.page.locator("#main")).to_contain_text("Spring sale")
    bruno = TelegramChat(context.new_page(), playground)
    bruno.page.goto(f"{playground.tg.url}/?chat=4343")
    expect(bruno.sees("20% off for you").locator("b", has_text="Spring sale")).to_be_visible()


def test_app_home_dashboard_for_operators_and_explanation_for_others(context: Any, playground: Playground) -> None:
    first, last, username = customer_name(playground, "Hana")
    TelegramChat(context.new_page(), playground).start(first, last, username, "en", "Hi, quick question")
    slack = SlackWorkspacePage(context.new_page(), playground, OLIVIA)
    slack.page.get_by_role("link", name="Baton · Home").click()
    home = slack.page.locator("#main .home")
    expect(home.locator(".sk-header")).to_have_text("Baton: live support")
    row = home.locator(".sk-section", has_text=f"{first} {last}").first
    expect(row).to_contain_text("waiting")
    row.get_by_role("button", name="Take over").click()
    taken = home.locator(".sk-section", has_text=f"{first} {last}").first
    expect(taken).to_contain_text("Olivia Operator")
    taken.get_by_role("link", name="Open thread").click()  # the thread's link opens it in the page
    expect(slack.page.locator("#thread .sk-header")).to_contain_text(f"{first} {last}")

    slack.page.get_by_role("link", name="Baton · Home").click()
    slack.switch_to(SAM)
    expect(slack.page.locator("#main .home")).to_contain_text("You are not a Baton operator")


def test_customer_files_and_places_reach_the_thread(context: Any, playground: Playground, tmp_path: Any) -> None:
    first, last, username = customer_name(playground, "Ivo")
    telegram = TelegramChat(context.new_page(), playground).start(first, last, username, "en", "Hello")
    photo = tmp_path / "parcel.png"
    photo.write_bytes(png_bytes())
    telegram.page.get_by_label("Attach").click()
    telegram.page.locator("input[data-kind=photo]").set_input_files(str(photo))
    expect(telegram.page.locator(".msg.in img.photo")).to_be_visible()
    telegram.page.get_by_label("Attach").click()
    telegram.page.get_by_role("button", name="📍 Location").click()
    expect(telegram.page.locator(".msg.in .place")).to_contain_text("📍")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n% an invoice\n")
    telegram.page.get_by_label("Attach").click()
    telegram.page.locator("input[data-kind=document]").set_input_files(str(invoice))
    expect(telegram.page.locator(".msg.in .file")).to_contain_text("invoice.pdf")
    telegram.page.get_by_label("Attach").click()
    telegram.page.get_by_role("button", name="🎤 Voice message").click()
    expect(telegram.page.locator(".msg.in .voice")).to_contain_text("Voice message")

    slack = SlackWorkspacePage(context.new_page(), playground, OLIVIA)
    slack.open_thread(f"{first} {last}")
    image = slack.page.locator("#thread .file-image img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 40  # the customer's picture itself, decoded
    expect(slack.page.locator("#thread")).to_contain_text("Location")
    expect(slack.page.locator("#thread .file-chip", has_text="invoice.pdf")).to_be_visible()
    expect(slack.page.locator("#thread .file-audio", has_text="voice.ogg").locator("audio")).to_be_attached()


def test_pages_fit_a_phone(browser: Any, playground: Playground) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(f"{playground.slack.url}?as={OLIVIA}")
        expect(page.get_by_label("Message the channel")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.goto(f"{playground.tg.url}/?chat=4343")
        expect(page.get_by_label("Message", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()


def test_stats_chart_shows_as_a_picture(context: Any, playground: Playground) -> None:
    slack = SlackWorkspacePage(context.new_page(), playground, ADA)
    slack.command("/baton stats")
    expect(slack.page.locator("#main .ephemeral").last).to_contain_text("A chart of conversations per day follows")
    dm = "D" + ADA[1:]  # the chart goes to Ada's DM, not the channel
    stored(playground, lambda: next((u for u in playground.slack.uploads if u["channel"] == dm), None))
    slack.page.goto(f"{playground.slack.url}?as={ADA}&channel={dm}")
    chart = slack.page.locator("#main .file-image img").last
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 100  # the PNG itself, decoded by the browser


def test_owner_shares_a_picture_in_the_thread_and_the_customer_gets_a_photo(context: Any, playground: Playground,
                                                                          tmp_path: Any) -> None:
    first, last, username = customer_name(playground, "Jana")
    telegram = TelegramChat(context.new_page(), playground).start(first, last, username, "en", "Show me the box?")
    slack = SlackWorkspacePage(context.new_page(), playground, OLIVIA)
    slack.open_thread(f"{first} {last}")
    slack.thread_card().get_by_role("button", name="Take over").click()
    expect(slack.thread_card()).to_contain_text("Olivia Operator has taken over since")
    picture = tmp_path / "box.png"
    picture.write_bytes(png_bytes(64, 48))
    slack.page.get_by_label("Reply in thread").fill("Here it is")
    slack.page.get_by_label("Share a file").set_input_files(str(picture))
    shared = slack.thread_message("Here it is")
    expect(shared.locator(".file-image img")).to_be_visible()
    expect(shared.locator(".reaction[data-reaction=white_check_mark]")).to_be_visible()
    photo = telegram.sees("Here it is")
    expect(photo.locator("img.photo")).to_be_visible()
    assert photo.locator("img.photo").evaluate("img => img.naturalWidth") == 64
