"""Formatting across the platforms, through the real clients: a customer's Telegram entities reach the
thread as Slack mrkdwn with their text escaped, an operator's composed Slack message (its rich_text
block) reaches Telegram as valid HTML."""

from __future__ import annotations

from tests.support.harness import ALICE, CHANNEL, World
from tests.support.markup import assert_telegram_html

CAROL = 1001


async def test_customer_formatting_is_mirrored_and_their_control_sequences_stay_text(world: World) -> None:
    await world.start()
    text = "Order <!channel> & <@U0BOB> is late, see *this*"
    bold = {"type": "bold", "offset": text.index("late"), "length": len("late")}
    await world.tg.customer_sends(CAROL, text, entities=[bold])
    root = await world.root()
    [mirrored] = await world.thread_has(root["ts"], "is *late*")
    assert mirrored["text"].startswith("Order &lt;!channel&gt; &amp; &lt;@U0BOB&gt; is *late*, see ")
    assert "<!" not in mirrored["text"] and "<@" not in mirrored["text"]


async def test_an_operators_composed_reply_reaches_telegram_formatted(world: World) -> None:
    root = await world.taken_over()

    typed = ("Hi <@U0ALICE>, *Norway _and_ Sweden*: `5 days` :smile:\n&gt; quoted &lt;3\n"
             "See <https://shop.test/?a=1&amp;b=2|the page>\n```\nstep *1*\n```")
    await world.slack.user_posts(ALICE, CHANNEL, typed, thread_ts=root["ts"])
    reply = (await world.tg.wait_for_messages(CAROL, 3))[2]
    assert reply.parse_mode == "HTML"
    assert_telegram_html(reply.text)
    assert reply.text == ("Hi @Alice Operator, <b>Norway <i>and</i> Sweden</b>: <code>5 days</code> 😄\n"
                          "<blockquote>quoted &lt;3</blockquote>\n"
                          'See <a href="https://shop.test/?a=1&amp;b=2">the page</a>\n<pre>step *1*</pre>')
