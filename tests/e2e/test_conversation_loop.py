"""The whole loop through the real clients: customer ↔ agent ↔ Slack thread, takeover, hand back, resolve."""

from __future__ import annotations

import pytest

from tests.support.agents import GatedAgent
from tests.support.harness import ALICE, BOB, CHANNEL, EVE, World, button_ids, card_text

CAROL = 1001


async def test_first_message_opens_a_thread_with_the_card_and_the_agent_answers(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")

    root = await world.root()
    text = card_text(root)
    assert "Conversation #1" in text and "Carol Customer" in text
    assert "@carol" in text and "1001" in text and "en" in text
    assert "Agent is answering" in text
    assert button_ids(root) == ["takeover", "resolve", "export"]

    [question] = await world.thread_has(root["ts"], "How long does shipping take?")
    assert question["username"] == "Carol Customer (customer)"

    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Shipping takes 2-3 business days."
    [mirrored] = await world.thread_has(root["ts"], "Shipping takes 2-3 business days.")
    assert mirrored["username"] == "Baton agent"
    # An instant answer needs no "typing…" (one Bot API call less per message).
    assert world.tg.chat_actions == []


async def test_customer_sees_typing_while_a_slow_agent_thinks(world: World) -> None:
    agent = world.agent = GatedAgent()
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    await agent.called.wait()
    await world.tg.wait_until(lambda: (CAROL, "typing") in world.tg.chat_actions, what="typing indicator")
    agent.release()
    [answer] = await world.tg.wait_for_messages(CAROL, 1)
    assert answer.text == "Shipping takes 2-3 business days."


async def test_takeover_by_button_silences_the_agent_and_relays_the_owner(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)

    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    card = await world.card_says(root["ts"], "Alice Operator* has taken over")
    assert button_ids(card) == ["handback", "resolve", "export"]
    notice = (await world.tg.wait_for_messages(CAROL, 2))[1]
    assert notice.text == "You're now talking with Alice."
    await world.thread_has(root["ts"], "Alice Operator* took over")

    # The agent stays silent: a question it could answer goes to the human only.
    await world.tg.customer_sends(CAROL, "And shipping to Norway?")
    await world.thread_has(root["ts"], "And shipping to Norway?")
    await world.slack.user_posts(ALICE, CHANNEL, "Hi Carol, *Norway* takes 5 days.", thread_ts=root["ts"])
    reply = (await world.tg.wait_for_messages(CAROL, 3))[2]
    assert reply.text == "Hi Carol, <b>Norway</b> takes 5 days."
    assert reply.parse_mode == "HTML"
    assert len(world.agent.requests) == 1  # type: ignore[attr-defined]


async def test_takeover_by_message_shortcut(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Something odd happened")
    root = await world.root()
    [question] = await world.thread_has(root["ts"], "Something odd happened")
    await world.tg.wait_for_messages(CAROL, 1)  # the agent's holding line

    await world.slack.message_shortcut(BOB, "takeover_message", CHANNEL, question["ts"])
    await world.card_says(root["ts"], "Bob Operator* has taken over")
    await world.ephemeral_to(BOB, "You took over conversation #1")
    sent = await world.tg.wait_for_messages(CAROL, 2)
    assert sent[-1].text == "You're now talking with Bob."


@pytest.mark.parametrize("ref", ["#1", "@carol", "1001", "link"])
async def test_takeover_by_slash_command(world: World, ref: str) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Hello?")
    root = await world.root()
    await world.thread_has(root["ts"], "Hello?")  # mirrored, so the thread is recorded
    if ref == "link":
        ref = f"https://sandbox.slack.local/archives/{CHANNEL}/p{root['ts'].replace('.', '')}"
    response = await world.slack.slash_command(ALICE, "/takeover", ref, channel=CHANNEL)
    assert "You took over conversation #1" in response.body["text"]
    await world.card_says(root["ts"], "Alice Operator* has taken over")


async def test_takeover_without_a_ref_lists_open_conversations_with_buttons(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "I need a human please")  # the scripted agent hands off
    root = await world.root()
    await world.thread_has(root["ts"], "Needs a human")
    response = await world.slack.slash_command(ALICE, "/takeover", "", channel=CHANNEL)
    body = str(response.body)
    assert "1 waiting for a human" in body and "Carol Customer" in body and "'takeover'" in body


async def test_a_reply_in_flight_when_the_takeover_lands_is_never_delivered(world: World) -> None:
    world.agent = GatedAgent()
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.agent.called.wait()  # type: ignore[attr-defined]

    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 1)  # the "you're talking with Alice" notice
    world.agent.release()  # type: ignore[attr-defined]
    # Observable end of the agent's work: its ask row is settled. Then nothing more may reach Carol.
    await world.slack.user_posts(ALICE, CHANNEL, "I'm here", thread_ts=root["ts"])
    sent = await world.tg.wait_for_messages(CAROL, 2)
    assert [m.text for m in sent] == ["You're now talking with Alice.", "I'm here"]
    await _outbox_settled(world)
    assert [m.text for m in world.tg.messages_to(CAROL)] == ["You're now talking with Alice.", "I'm here"]
    assert not any("Shipping takes" in (m.get("text") or "") for m in world.slack.thread(CHANNEL, root["ts"]))


async def test_two_operators_pressing_at_once_exactly_one_wins(world: World) -> None:
    import asyncio

    await world.start()
    await world.tg.customer_sends(CAROL, "Hello?")
    root = await world.root()
    await asyncio.gather(world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover"),
                         world.slack.click_button(BOB, CHANNEL, root["ts"], "takeover"))
    card = await world.card_says(root["ts"], "has taken over")
    winner = "Alice" if "Alice Operator" in card_text(card) else "Bob"
    loser = BOB if winner == "Alice" else ALICE
    await world.ephemeral_to(loser, f"already taken over by {winner} Operator")
    notices = [m.text for m in await world.tg.wait_for_messages(CAROL, 1)]
    await _outbox_settled(world)
    notices = [m.text for m in world.tg.messages_to(CAROL) if "talking with" in (m.text or "")]
    assert notices == [f"You're now talking with {winner}."]


async def test_replies_that_must_not_reach_the_customer_stay_notes(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)

    # Agent mode: an operator's reply is a note, with a private prompt.
    await world.slack.user_posts(BOB, CHANNEL, "internal: check the warehouse", thread_ts=root["ts"])
    prompt = await world.ephemeral_to(BOB, "was *not* sent")
    assert [b["action_id"] for b in prompt.blocks[-1]["elements"]] == ["takeover_and_send", "keep_as_note"]

    # Someone else owns it: another operator's reply is a note too.
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.tg.wait_for_messages(CAROL, 2)
    await world.slack.user_posts(BOB, CHANNEL, "psst, offer a voucher", thread_ts=root["ts"])
    await world.ephemeral_to(BOB, "Alice Operator has taken over this conversation")

    # A non-operator's reply is a note whatever the mode.
    await world.slack.user_posts(EVE, CHANNEL, "Can I say hi?", thread_ts=root["ts"])
    await world.ephemeral_to(EVE, "Only operators can reply")

    await _outbox_settled(world)
    texts = [m.text for m in world.tg.messages_to(CAROL)]
    assert texts == ["Shipping takes 2-3 business days.", "You're now talking with Alice."]


async def test_take_over_and_send_delivers_the_note(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.user_posts(BOB, CHANNEL, "Actually it's 4 days this week.", thread_ts=root["ts"])
    prompt = await world.ephemeral_to(BOB, "was *not* sent")

    await world.slack.click_ephemeral_button(BOB, prompt, "takeover_and_send")
    sent = await world.tg.wait_for_messages(CAROL, 3)
    assert [m.text for m in sent[1:]] == ["You're now talking with Bob.", "Actually it's 4 days this week."]
    await world.card_says(root["ts"], "Bob Operator* has taken over")


async def test_keep_as_note_sends_nothing(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.user_posts(BOB, CHANNEL, "note to self", thread_ts=root["ts"])
    prompt = await world.ephemeral_to(BOB, "was *not* sent")
    response = await world.slack.click_ephemeral_button(BOB, prompt, "keep_as_note")
    assert response.status == 200
    await world.slack.wait_for(lambda: any("Kept as an internal note" in str(r) for r in world.slack.responses),
                               what="kept-as-note confirmation")
    await _outbox_settled(world)
    assert len(world.tg.messages_to(CAROL)) == 1


async def test_hand_back_returns_the_conversation_to_the_agent(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Hello there")  # the agent cannot answer: waits for a human
    root = await world.root()
    await world.card_says(root["ts"], "Waiting for a human")
    await world.tg.wait_for_messages(CAROL, 1)  # its holding line
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "has taken over")
    await world.slack.user_posts(ALICE, CHANNEL, "Hi Carol, all sorted now.", thread_ts=root["ts"])
    await world.tg.wait_for_messages(CAROL, 3)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "handback")
    card = await world.card_says(root["ts"], "Agent is answering")
    assert button_ids(card) == ["takeover", "resolve", "export"]
    await world.thread_has(root["ts"], "handed the conversation back")
    [brief] = await world.thread_has(root["ts"], "Brief for the agent")
    assert "Alice Operator (operator): Hi Carol, all sorted now." in brief["text"]

    await world.tg.customer_sends(CAROL, "What about shipping?")
    texts = [m.text for m in await world.tg.wait_for_messages(CAROL, 5)]
    assert texts[1:] == ["You're now talking with Alice.", "Hi Carol, all sorted now.",
                         "You're back with our automated assistant. Write anytime if you need more help.",
                         "Shipping takes 2-3 business days."]
    await world.thread_has(root["ts"], "Shipping takes 2-3 business days.")


async def test_handback_by_slash_command(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "Hello there")
    root = await world.root()
    await world.slack.slash_command(ALICE, "/takeover", "#1", channel=CHANNEL)
    response = await world.slack.slash_command(ALICE, "/handback", "@carol", channel=CHANNEL)
    assert "back with the agent" in response.body["text"]
    await world.card_says(root["ts"], "Agent is answering")


async def test_resolve_closes_and_the_next_message_opens_a_new_linked_thread(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    first = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, first["ts"], "resolve")
    card = await world.card_says(first["ts"], "Resolved")
    assert button_ids(card) == ["export"]
    await world.thread_has(first["ts"], "resolved the conversation")
    await world.tg.wait_for_messages(CAROL, 2)

    await world.tg.customer_sends(CAROL, "One more thing about shipping")
    second = await world.root(1)
    assert second["ts"] != first["ts"]
    text = card_text(second)
    assert "Conversation #2" in text and "Previous conversation" in text
    assert first["ts"].replace(".", "") in text  # the link points at the previous thread
    await world.thread_has(second["ts"], "One more thing about shipping")


async def test_unauthorised_user_is_refused_and_nothing_changes(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(EVE, CHANNEL, root["ts"], "takeover")
    await world.ephemeral_to(EVE, "Only Baton operators")
    response = await world.slack.slash_command(EVE, "/resolve", "#1", channel=CHANNEL)
    assert "Only Baton operators" in response.body["text"]
    assert "Agent is answering" in card_text(world.slack.message(CHANNEL, root["ts"]))


async def _outbox_settled(world: World) -> None:
    """Until nothing is pending in the outbox: every effect has left or been dropped."""
    assert world.baton is not None
    await world.baton.settled()
