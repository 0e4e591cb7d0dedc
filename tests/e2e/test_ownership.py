"""An owned conversation is handed back or resolved only by its owner or an admin, on every surface."""

from __future__ import annotations

from storage import audit
from tests.support.harness import ADMIN, ALICE, BOB, CHANNEL, World

CAROL = 1001


async def _owned_by_alice(world: World) -> dict:
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.click_button(ALICE, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "Alice Operator* has taken over")
    return root


async def test_another_operator_cannot_hand_back_or_resolve_and_is_told_who_owns_it(world: World) -> None:
    await world.start()
    root = await _owned_by_alice(world)

    await world.slack.click_button(BOB, CHANNEL, root["ts"], "handback")
    await world.ephemeral_to(BOB, "owned by Alice Operator: only Alice Operator or an admin can hand it back")
    await world.slack.click_button(BOB, CHANNEL, root["ts"], "resolve")
    await world.ephemeral_to(BOB, "only Alice Operator or an admin can resolve it")
    answers = [(await world.slack.slash_command(BOB, command, ref, channel=CHANNEL)).body
               for command, ref in (("/handback", "#1"), ("/resolve", "@carol"), ("/resolve", str(CAROL)))]
    assert all("owned by Alice Operator" in str(body) for body in answers), answers
    # Bob cannot then take it either: it is still Alice's.
    await world.slack.slash_command(BOB, "/takeover", "#1", channel=CHANNEL)
    await world.card_says(root["ts"], "Alice Operator* has taken over")
    assert [m.text for m in world.tg.messages_to(CAROL)][-1] == "You're now talking with Alice."
    assert world.baton is not None
    async with world.baton.db.transaction() as session:
        assert [r.action for r in await audit.find_for_conversation(session, 1)] == ["takeover"]

    # The owner and an admin may.
    await world.slack.click_button(ADMIN, CHANNEL, root["ts"], "handback")
    await world.card_says(root["ts"], "Agent is answering")
    await world.slack.click_button(BOB, CHANNEL, root["ts"], "takeover")
    await world.card_says(root["ts"], "Bob Operator* has taken over")
    await world.slack.slash_command(BOB, "/resolve", "#1", channel=CHANNEL)
    await world.card_says(root["ts"], "Resolved")


async def test_take_over_and_send_sends_only_the_pressers_own_note(world: World) -> None:
    await world.start()
    await world.tg.customer_sends(CAROL, "How long does shipping take?")
    root = await world.root()
    await world.tg.wait_for_messages(CAROL, 1)
    await world.slack.user_posts(BOB, CHANNEL, "Bob's private guess: it's lost", thread_ts=root["ts"])
    prompt = await world.ephemeral_to(BOB, "not* sent to the customer")
    # Alice presses a Take over and send that names Bob's note (a forwarded or replayed payload).
    await world.slack.click_ephemeral_button(ALICE, prompt, "takeover_and_send")
    await world.card_says(root["ts"], "Alice Operator* has taken over")
    await world.slack.wait_for(lambda: "not yours, so it was not sent" in prompt.text, what="the answer to Alice")
    await world.slack.user_posts(ALICE, CHANNEL, "Alice here", thread_ts=root["ts"])
    sent = await world.tg.wait_for_messages(CAROL, 3)
    assert [m.text for m in sent][1:] == ["You're now talking with Alice.", "Alice here"]
    assert not any("Bob's" in (m.text or "") for m in world.tg.messages_to(CAROL))
