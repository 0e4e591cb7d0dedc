"""What a person does on the two sandbox pages, in their words; every check is a Playwright expectation."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from bot.demo import OLIVIA
from tests.browser.conftest import Playground

# What a reader must never see on either page.
RAW_MARKUP = re.compile(r"<!date\^|<@U|<#C|<https?://|:[a-z_]+:|(?<![\w*])\*\w[^*\n]*\*(?![\w*])")


class TelegramChat:
    """A customer on the Telegram page."""

    def __init__(self, page: Page, playground: Playground) -> None:
        self.page, self.pg = page, playground

    def start(self, first: str, last: str, username: str, language: str, text: str) -> TelegramChat:
        self.page.goto(self.pg.tg.url + "/")
        self.page.get_by_text("+ New customer").click()
        form = self.page.locator("#new-customer")
        form.get_by_label("First name").fill(first)
        form.get_by_label("Last name").fill(last)
        form.get_by_label("Username").fill(username)
        form.get_by_label("Language").select_option(language)
        form.get_by_label("First message").fill(text)
        form.get_by_role("button", name="Start chat").click()
        expect(self.page.locator(".chat-head")).to_contain_text(f"{first} {last}")
        return self

    def send(self, text: str) -> None:
        box = self.page.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")
        expect(self.bubble(text)).to_be_visible()

    def bubble(self, text: str) -> Locator:
        return self.page.locator(".msg .bubble", has_text=text).last

    def sees(self, text: str) -> Locator:
        bubble = self.page.locator(".msg.out .bubble", has_text=text).last
        expect(bubble).to_be_visible()
        return bubble


class SlackWorkspacePage:
    """One person on the Slack page."""

    def __init__(self, page: Page, playground: Playground, user: str = OLIVIA) -> None:
        self.page, self.pg, self.user = page, playground, user
        page.goto(f"{playground.slack.url}?as={user}")

    def card(self, customer: str) -> Locator:
        """The newest conversation card for the customer, in the channel."""
        card = self.page.locator("#main .msg", has=self.page.locator(".sk-header", has_text=f"· {customer}")).last
        expect(card).to_be_visible()
        return card

    def open_thread(self, customer: str) -> Locator:
        self.card(customer).locator(".thread-link").click()
        thread = self.page.locator("#thread")
        expect(thread.locator(".sk-header")).to_contain_text(customer)
        return thread

    def thread_card(self) -> Locator:
        return self.page.locator("#thread .msg").first

    def reply(self, text: str, *, shown: str | None = None) -> Locator:
        """Reply in the open thread; `shown` is how Slack displays the text (formatting applied)."""
        box = self.page.get_by_label("Reply in thread")
        box.fill(text)
        box.press("Enter")
        return self.thread_message(shown or text)

    def thread_message(self, text: str) -> Locator:
        message = self.page.locator("#thread .msg", has_text=text).last
        expect(message).to_be_visible()
        return message

    def command(self, text: str) -> None:
        box = self.page.get_by_label("Message the channel")
        box.fill(text)
        box.press("Enter")

    def switch_to(self, user: str) -> None:
        self.page.get_by_label("Current user").select_option(user)
        self.user = user
        expect(self.page).to_have_url(re.compile(f"as={user}"))

    def no_raw_markup(self) -> None:
        for pane in ("#main", "#thread"):
            text = self.page.locator(pane).inner_text()
            assert not RAW_MARKUP.search(text), f"raw markup in {pane}: {RAW_MARKUP.search(text)}"


def customer_name(playground: Playground, tag: str) -> tuple[str, str, str]:
    """A fresh customer per test (first, last, username), so tests never share a conversation."""
    number = playground.customer_id()
    return tag, f"Tester{number}", f"{tag.lower()}_{number}"


def stored(playground: Playground, predicate: Any) -> Any:
    return playground.run(playground.slack.wait_for(predicate, timeout=10))
