"""The README's "Using it in Slack", done in a browser on the playground's two pages."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from bot.demo import OLIVIA, OMAR, SAM
from tests.browser.conftest import Playground
from tests.browser.pages import SlackWorkspacePage, TelegramChat, customer_name


def test_question_answer_handoff_takeover_reply_note_handback_resolve_rating(context: Any,
                                                                                playground: Playground) -> None:
    first, last, username = customer_name(playground, "Dora")
    customer = f"{first} {last}"
    telegram = TelegramChat(context.new_page(), playground).start(
        first, last, username, "en", "How long does shipping take?")
    # The agent answers from the knowledge base, with its formatting.
    answer = telegram.sees("Orders leave our warehouse")
    expect(answer.locator("b", has_text="1 business day")).to_be_visible()

    slack = SlackWorkspacePage(context.new_page(), playground, OLIVIA)
    thread = slack.open_thread(customer)
    expect(thread).to_contain_text("How long does shipping take?")
    expect(slack.thread_message("Orders leave our warehouse").locator("b", has_text="1 business day")).to_be_visible()
    expect(slack.thread_card()).to_contain_text("Agent is answering")
    expect(slack.thread_card().locator(".sk-fields")).to_contain_text(f"@{username}")

    # A question the knowledge base cannot answer: a hand-off, the thread says a human is needed.
    telegram.send("Do you offer gift wrapping for a wedding present?")
    telegram.sees("Let me check that with a colleague")
    expect(slack.thread_message("Needs a human")).to_contain_text("🚨")
    expect(slack.thread_card()).to_contain_text("Waiting for a human")

    # Take over with the card's button.
    slack.thread_card().get_by_role("button", name="Take over").click()
    expect(slack.thread_card()).to_contain_text("Olivia Operator has taken over since")
    telegram.sees("You're now talking with Olivia.")

    # The owner's reply reaches the customer (Slack formatting as Telegram formatting) and gets ✅.
    reply = slack.reply("Yes, gift wrapping is *free* for you", shown="Yes, gift wrapping is free for you")
    expect(reply.locator("b", has_text="free")).to_be_visible()
    expect(reply.locator(".reaction[data-reaction=white_check_mark]")).to_have_text("✅ 1")
    expect(telegram.sees("gift wrapping is free for you").locator("b", has_text="free")).to_be_visible()

    # Someone who is not an operator replies: only they are told, and it stays a note (no ✅).
    slack.switch_to(SAM)
    slack.page.locator("#thread").wait_for()
    note = slack.reply("I think we did this for another customer")
    expect(slack.page.locator("#thread .ephemeral")).to_contain_text("your message was not sent")
    expect(note.locator(".reaction")).to_have_count(0)
    slack.switch_to(OLIVIA)
    expect(slack.page.locator("#thread .ephemeral")).to_have_count(0)  # it was only for Sam

    # Hand back, then resolve; the customer rates the conversation on Telegram.
    slack.thread_card().get_by_role("button", name="Hand back to agent").click()
    expect(slack.thread_card()).to_contain_text("Agent is answering")
    telegram.sees("You're back with our automated assistant")
    slack.thread_card().get_by_role("button", name="Resolve").click()
    expect(slack.thread_card()).to_contain_text("Resolved")
    question = telegram.sees("How did we do?")
    question.locator("xpath=..").get_by_role("button", name="5 ★").click()
    expect(telegram.page.get_by_role("status")).to_have_text("Thank you!")  # the bot's answer to the press
    telegram.sees("Thank you for your rating")
    expect(slack.thread_card()).to_contain_text("CSAT ★★★★★ 5/5")
    telegram.send("Quick and friendly, thanks!")  # the text after a rating is its comment
    expect(slack.thread_card()).to_contain_text("Quick and friendly, thanks!")
    slack.no_raw_markup()

    # After a resolve the customer's next message opens a new conversation in a new thread.
    previous = slack.card(customer).locator(".sk-header").inner_text()
    telegram.send("One more question: do you ship to Norway?")
    expect(slack.card(customer).locator(".sk-header")).not_to_have_text(previous)
    expect(slack.card(customer)).to_contain_text("Previous conversation")


def test_private_choice_for_an_operator_replying_while_the_agent_answers(context: Any,
                                                                          playground: Playground) -> None:
    first, last, username = customer_name(playground, "Emil")
    telegram = TelegramChat(context.new_page(), playground).start(first, last, username, "en", "Hello there")
    slack = SlackWorkspacePage(context.new_page(), playground, OMAR)
    slack.open_thread(f"{first} {last}")

    slack.reply("Just a remark for colleagues")
    choice = slack.page.locator("#thread .ephemeral", has_text="your reply was not sent")
    expect(choice).to_contain_text("👁 Only visible to you")
    choice.get_by_role("button", name="Keep as note").click()
    expect(slack.page.locator("#thread .ephemeral", has_text="Take over and send")).to_have_count(0)

    slack.reply("Hi Emil, Omar here: your parcel left today")
    choice = slack.page.locator("#thread .ephemeral", has_text="Take over and send")
    choice.get_by_role("button", name="Take over and send").click()
    expect(slack.thread_card()).to_contain_text("Omar Okafor has taken over since")
    telegram.sees("Omar here: your parcel left today")

    # The owner edits the delivered reply: the customer's copy changes too.
    sent = slack.thread_message("Omar here: your parcel left today")
    sent.hover()
    sent.get_by_role("button", name="More actions").click()
    slack.page.once("dialog", lambda dialog: dialog.accept("Hi Emil, Omar here: your parcel left this morning"))
    sent.get_by_role("button", name="Edit message").click()
    expect(slack.thread_message("left this morning").locator(".edited")).to_have_text("(edited)")
    expect(telegram.sees("your parcel left this morning")).to_contain_text("edited")
    texts = [m.get("text", "") for c in playground.tg.snapshot() if c["user"].get("username") == username
             for m in c["messages"]]
    assert not any("remark for colleagues" in t for t in texts)
