"""Slack mrkdwn <-> the markup tree (and stored neutral HTML): examples for each construct plus property tests."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import markup
from bot.core.markup import Link, Styled, Text
from operator_bridge.formatting import ZWSP, html_to_mrkdwn, mrkdwn_to_html, mrkdwn_to_markup, plain_text, to_mrkdwn
from tests.support.markup import TREES, assert_telegram_html

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)
# ---------------------------------------------------------------- Slack -> neutral HTML, examples


@pytest.mark.parametrize(("mrkdwn", "expected"), [
    ("*bold* _italic_ ~strike~", "<b>bold</b> <i>italic</i> <s>strike</s>"),
    ("*bold _both_ bold*", "<b>bold <i>both</i> bold</b>"),
    ("(*in parens*), and *then*.", "(<b>in parens</b>), and <b>then</b>."),
    ("use `rm -rf *.tmp` now", "use <code>rm -rf *.tmp</code> now"),
    ("```def f(*a, **kw):\n    return _x_```", "<pre>def f(*a, **kw):\n    return _x_</pre>"),
    ("```\nfenced\n```", "<pre>fenced</pre>"),
    ("`*not bold*` and `&lt;tag&gt;`", "<code>*not bold*</code> and <code>&lt;tag&gt;</code>"),
    ("2*3*4 and snake_case_name and a~b~c", "2*3*4 and snake_case_name and a~b~c"),
    ("*bold*text stays", "*bold*text stays"),
    ("* not bold *", "* not bold *"),
    ("*unclosed and _also", "*unclosed and _also"),
    ("`unclosed code", "`unclosed code"),
    ("*a _b* c_", "<b>a _b</b> c_"),
    ("**double**", "<b>double</b>"),
    ("*bold `code` bold*", "<b>bold </b><code>code</code><b> bold</b>"),
    ("Tom &amp; Jerry &lt;3 &gt;_&lt;", "Tom &amp; Jerry &lt;3 &gt;_&lt;"),
    ("&amp;lt; stays literal", "&amp;lt; stays literal"),
])
def test_inline_formatting(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn) == expected
    assert_telegram_html(expected)


@pytest.mark.parametrize(("mrkdwn", "expected"), [
    ("&gt; one\n&gt; two\nafter", "<blockquote>one\ntwo</blockquote>\nafter"),
    ("> raw marker\nnot quoted > here", "<blockquote>raw marker</blockquote>\nnot quoted &gt; here"),
    ("&gt; a\nplain\n&gt; b", "<blockquote>a</blockquote>\nplain\n<blockquote>b</blockquote>"),
    ("intro\n&gt;&gt;&gt; rest\nof *the* message",
     "intro\n<blockquote>rest\nof <b>the</b> message</blockquote>"),
    ("&gt; ```quoted code```", "<blockquote><code>quoted code</code></blockquote>"),
    ("&gt;\nempty quote", "\nempty quote"),
])
def test_block_quotes(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn) == expected


def test_links() -> None:
    assert mrkdwn_to_html("<https://example.com/a?b=1&amp;c=2|the *docs*>") == (
        '<a href="https://example.com/a?b=1&amp;c=2">the *docs*</a>')
    assert mrkdwn_to_html("see <https://example.com>") == 'see <a href="https://example.com">https://example.com</a>'
    assert mrkdwn_to_html("*<https://x.org|bold link>*") == '<b><a href="https://x.org">bold link</a></b>'
    assert mrkdwn_to_html("<mailto:help@shop.test|help@shop.test>") == "help@shop.test"
    assert mrkdwn_to_html("<mailto:help@shop.test|write us>") == "write us (help@shop.test)"
    assert mrkdwn_to_html('<https://x.org/"q"|a &lt; b>') == (
        '<a href="https://x.org/&quot;q&quot;">a &lt; b</a>')


def test_mentions() -> None:
    users = {"U1": "Alice Smith"}
    channels = {"C2": "random"}
    text = "<@U1> <@U9> <@U8|bob> <#C1|general> <#C2> <#C3> <!here> <!channel> <!everyone> <!subteam^S1|@ops>"
    assert mrkdwn_to_html(text, user_name=users.get, channel_name=channels.get) == (
        "@Alice Smith @U9 @bob #general #random #C3 @here @channel @everyone @ops")
    assert mrkdwn_to_html("<!here|here> <!subteam^S1> <!date^1392734382^{date}|Feb 18>") == "@here @S1 Feb 18"


def test_emoji() -> None:
    assert mrkdwn_to_html(":smile: :+1: :white_check_mark: :thumbsup::skin-tone-3:") == "😄 👍 ✅ 👍🏼"
    assert mrkdwn_to_html(":custom_party_parrot: at 10:30:45") == ":custom_party_parrot: at 10:30:45"
    assert mrkdwn_to_html("`:smile:` *:tada:*") == "<code>:smile:</code> <b>🎉</b>"


def test_control_sequences_inside_code_show_as_typed() -> None:
    assert mrkdwn_to_html("`open <https://x.org>` ```<@U1> &amp;```") == (
        "<code>open https://x.org</code> <pre>@U1 &amp;</pre>")


# ---------------------------------------------------------------- neutral HTML -> Slack, examples


@pytest.mark.parametrize(("markup", "expected"), [
    ("<b>bold</b> <i>italic</i> <s>strike</s> <u>under</u>", "*bold* _italic_ ~strike~ under"),
    ("<strong>b</strong> <em>i</em> <del>d</del>", "*b* _i_ ~d~"),
    ("<tg-spoiler>secret</tg-spoiler> <span class=\"tg-spoiler\">too</span>", "secret too"),
    ("<b><i>both</i></b>", "*_both_*"),
    ("<b> padded </b>", " *padded* "),
    ("<b>two\nlines</b>", "*two*\n*lines*"),
    ("x<b>y</b>z", "xyz"),
    ("<code>a &lt; b</code>", "`a &lt; b`"),
    ('<pre><code class="language-python">if a &amp;&amp; b:\n    pass</code></pre>',
     "```\nif a &amp;&amp; b:\n    pass\n```"),
    ('<a href="https://shop.test/?a=1&amp;b=2">Shop &amp; more</a>',
     "<https://shop.test/?a=1&amp;b=2|Shop &amp; more>"),
    ('<a href="https://shop.test">https://shop.test</a>', "<https://shop.test>"),
    ('<a href="tg://user?id=1">Bob</a>', "Bob"),
    ("<blockquote>one\n<b>two</b></blockquote>after", "> one\n> *two*\nafter"),
    ("before<blockquote>q</blockquote>", "before\n> q"),
    ("Tom &amp; Jerry &lt;3", "Tom &amp; Jerry &lt;3"),
])
def test_html_to_mrkdwn(markup: str, expected: str) -> None:
    assert html_to_mrkdwn(markup) == expected


def test_html_to_mrkdwn_keeps_literal_markers_literal() -> None:
    # Slack has no escape syntax: a zero-width space on the outer side of a marker keeps it literal.
    literal = "a *star*, an _under_ score, `tick`, :smile: and\n&gt; not a quote, 2*3*4"
    posted = html_to_mrkdwn(literal)
    assert posted == (f"a {ZWSP}*star*{ZWSP}, an {ZWSP}_under_{ZWSP} score, {ZWSP}`tick`{ZWSP}, "
                      f":{ZWSP}smile: and\n{ZWSP}&gt; not a quote, 2*3*4")
    assert mrkdwn_to_html(posted) == literal


def test_plain_text() -> None:
    markup = '<b>Hi</b> <a href="https://x">there</a> &lt;3 &amp; <pre><code>x</code></pre>'
    assert plain_text(markup) == "Hi there <3 & x"
    assert plain_text("") == ""


# ---------------------------------------------------------------- properties

MRKDWN_PIECES = st.sampled_from([
    "*", "_", "~", "`", "```", ">", "&gt;", "&gt;&gt;&gt;", "&amp;", "&lt;", "<", "|", ":", ":smile:",
    "\n", " ", "a", "b", "1", "é", "Ж", "😀", "<@U1>", "<#C1|gen>", "<https://x.org|l*b>", "<mailto:a@b.c>",
    "<!here>", "<foo>", '"', ZWSP,
])
MRKDWN = st.one_of(st.lists(MRKDWN_PIECES, max_size=30).map("".join), st.text(max_size=40))


def _slack_unescape(text: str) -> str:
    return re.sub(r"&(amp|lt|gt);", lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m[1]], text)


@PROPERTY
@given(MRKDWN)
def test_any_mrkdwn_gives_valid_telegram_html(text: str) -> None:
    markup = mrkdwn_to_html(text)
    assert_telegram_html(markup)
    shown = plain_text(markup)
    for char in "*_~`<>&|":  # conversion only ever removes markup characters, never adds any
        assert shown.count(char) <= _slack_unescape(text).count(char), (char, text, markup)


@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters=ZWSP), max_size=60)
       | st.lists(st.sampled_from(["*", "_", "~", "`", ":", "smile", ">", "&", "<", " ", "\n", "a", "é"]),
                  max_size=25).map("".join))
def test_plain_text_survives_a_round_trip_through_slack(text: str) -> None:
    assert plain_text(mrkdwn_to_html(html_to_mrkdwn(html.escape(text, quote=False)))) == text


@PROPERTY
@given(MRKDWN)
def test_formatted_text_survives_html_to_mrkdwn_and_back(text: str) -> None:
    markup = mrkdwn_to_html(text)
    again = mrkdwn_to_html(html_to_mrkdwn(markup))
    assert_telegram_html(again)
    # Our own escape character is the one thing this cannot carry: a U+200B next to a marker is dropped.
    assert plain_text(again).replace(ZWSP, "") == plain_text(markup).replace(ZWSP, "")


def test_outside_text_is_escaped_once_wherever_it_sits() -> None:
    tree = (Text("<!channel> & <@U1> "), Styled("b", (Text("<https://evil.test|login>"),)), Text(" "),
            Link("https://x.org/a|<!here>", (Text("<!everyone>"),)))
    assert to_mrkdwn(tree) == ("&lt;!channel&gt; &amp; &lt;@U1&gt; *&lt;https://evil.test|login&gt;* "
                               "<https://x.org/a%7C&lt;!here&gt;|&lt;!everyone&gt;>")


# Slack's own link syntax, as the renderer writes it for a link node: the only place "<" may appear.
_SLACK_LINK = re.compile(r"<https?://[^<>|\s]*(\|[^<>]*)?>")


@PROPERTY
@given(TREES)
def test_slack_output_escapes_every_control_sequence_of_outside_text(tree: tuple[markup.Node, ...]) -> None:
    posted = to_mrkdwn(tree)
    bare = re.sub(r"(?m)^>", "", _SLACK_LINK.sub("", posted))  # and a quote's marker opening a line
    assert "<" not in bare and ">" not in bare, posted
    assert not re.search(r"&(?!(amp|lt|gt);)", bare), posted
    assert not re.search(r"<[!@#]", posted), posted  # no broadcast, mention or channel link, ever


@PROPERTY
@given(TREES)
def test_any_tree_survives_slack_and_back(tree: tuple[markup.Node, ...]) -> None:
    again = mrkdwn_to_markup(to_mrkdwn(tree))
    assert_telegram_html(markup.to_html(again))

    def visible(nodes: tuple[markup.Node, ...]) -> str:  # quotes and code blocks start their own lines
        return "".join(markup.to_plain(nodes).replace(ZWSP, "").split())

    assert visible(again) == visible(tree)
