"""Long customer text reaches Slack whole: folded with others at the channel limit, edited, or a caption."""

from __future__ import annotations

from typing import Any

from tests.support.harness import CHANNEL, World

CAROL = 1001
# Plain words: the mrkdwn Slack gets is then the text itself, so "whole" can be checked character by character.
LONG = " ".join(f"word{i:04d}" for i in range(1000))[:9000]


def _whole_text(message: dict[str, Any]) -> str:
    """What Slack shows of a post: its sections joined as they are (the text field only when no blocks)."""
    sections = [b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") == "section"]
    return "".join(sections) if sections else str(message.get("text") or "")


def _refused(world: World) -> list[dict[str, Any]]:
    return [c for c in world.slack.call_log if c.get("error") and not c.get("applied")]


async def test_a_9000_character_message_folded_with_others_reaches_slack_whole(world: World) -> None:
    world.slack.per_channel_post_limit = 4.0
    baton = await world.start(slack={"per_channel_per_second": 3, "per_channel_burst": 2})
    texts = [f"short question {i}" for i in range(3)] + [LONG] + [f"short question {i}" for i in range(3, 12)]
    for text in texts:
        await world.tg.customer_sends(CAROL, text)
    root = await world.root()
    await baton.settled(timeout=30)

    thread = world.slack.thread(CHANNEL, root["ts"])
    assert any(len([b for b in m.get("blocks") or [] if b.get("type") == "context"]) > 1 for m in thread), \
        "some messages were folded into one post"
    shown = "\n".join(_whole_text(m) for m in thread)
    assert LONG in shown, "all 9,000 characters, none cut"
    positions = [shown.index(t) for t in texts]
    assert positions == sorted(positions), "in order"
    assert not _refused(world)


async def test_an_edit_to_a_long_text_reaches_slack_whole(world: World) -> None:
    baton = await world.start()
    sent = await world.tg.customer_sends(CAROL, "Short at first")
    root = await world.root()
    [mirror] = await world.thread_has(root["ts"], "Short at first")
    await world.tg.customer_edits(CAROL, sent["message_id"], LONG)
    updated = await world.slack.wait_for(
        lambda: (m := world.slack.message(CHANNEL, mirror["ts"])) and LONG in _whole_text(m) and m,
        what="the mirror updated to the long text")
    assert "edited" in str(updated["blocks"][-1])
    await baton.settled()
    assert not _refused(world)


async def test_a_long_caption_reaches_slack_whole(world: World) -> None:
    baton = await world.start()
    caption = LONG[:1024]  # Telegram's caption limit
    await world.tg.customer_sends_media(CAROL, "photo", caption=caption)
    root = await world.root()
    await baton.settled()
    assert any(caption in _whole_text(m) for m in world.slack.thread(CHANNEL, root["ts"]))
    assert not _refused(world)
