"""The transition table, row by row."""

from __future__ import annotations

import pytest

from bot.core.states import Effect as E
from bot.core.states import Kind, Mode, Refusal, State, decide

A, B = "U_ALICE", "U_BOB"
AGENT, HUMAN_A, CLOSED, NONE = State(Mode.AGENT), State(Mode.HUMAN, A), State(Mode.CLOSED), State(Mode.NONE)

TABLE = [
    # (state, kind, actor, handoff) -> (mode, owner, effects, refusal)
    (NONE, Kind.CUSTOMER_MESSAGE, None, False, Mode.AGENT, None, (E.OPEN_THREAD, E.MIRROR_CUSTOMER, E.ASK_AGENT), None),
    (CLOSED, Kind.CUSTOMER_MESSAGE, None, False, Mode.AGENT, None, (E.OPEN_THREAD, E.MIRROR_CUSTOMER, E.ASK_AGENT),
     None),
    (AGENT, Kind.CUSTOMER_MESSAGE, None, False, Mode.AGENT, None, (E.MIRROR_CUSTOMER, E.ASK_AGENT), None),
    (State(Mode.AGENT, needs_human=True), Kind.CUSTOMER_MESSAGE, None, False, Mode.AGENT, None,
     (E.MIRROR_CUSTOMER,), None),
    (HUMAN_A, Kind.CUSTOMER_MESSAGE, None, False, Mode.HUMAN, A, (E.MIRROR_CUSTOMER,), None),
    (AGENT, Kind.AGENT_REPLIED, None, False, Mode.AGENT, None, (E.DELIVER_AGENT, E.MIRROR_AGENT), None),
    (AGENT, Kind.AGENT_REPLIED, None, True, Mode.AGENT, None,
     (E.DELIVER_AGENT, E.MIRROR_AGENT, E.NOTE_NEEDS_HUMAN, E.UPDATE_CARD, E.RAISE_ALERT), None),
    (HUMAN_A, Kind.AGENT_REPLIED, None, False, Mode.HUMAN, A, (), Refusal.NOT_OPEN),
    (CLOSED, Kind.AGENT_REPLIED, None, False, Mode.CLOSED, None, (), Refusal.NOT_OPEN),
    (AGENT, Kind.TAKEOVER, A, False, Mode.HUMAN, A,
     (E.CANCEL_AGENT, E.UPDATE_CARD, E.NOTE_TAKEN_OVER, E.NOTIFY_OPERATOR_JOINED, E.CLOSE_ALERTS), None),
    (HUMAN_A, Kind.TAKEOVER, B, False, Mode.HUMAN, A, (), Refusal.OWNED_BY_OTHER),
    (HUMAN_A, Kind.TAKEOVER, A, False, Mode.HUMAN, A, (), Refusal.ALREADY_YOURS),
    (CLOSED, Kind.TAKEOVER, A, False, Mode.CLOSED, None, (), Refusal.ALREADY_CLOSED),
    (HUMAN_A, Kind.OPERATOR_MESSAGE, A, False, Mode.HUMAN, A, (E.DELIVER_OPERATOR,), None),
    (HUMAN_A, Kind.OPERATOR_MESSAGE, B, False, Mode.HUMAN, A, (E.KEEP_AS_NOTE,), Refusal.OWNED_BY_OTHER),
    (AGENT, Kind.OPERATOR_MESSAGE, A, False, Mode.AGENT, None, (E.KEEP_AS_NOTE,), Refusal.ALREADY_AGENT),
    (CLOSED, Kind.OPERATOR_MESSAGE, A, False, Mode.CLOSED, None, (E.KEEP_AS_NOTE,), Refusal.ALREADY_CLOSED),
    (HUMAN_A, Kind.HANDBACK, A, False, Mode.AGENT, None, (E.UPDATE_CARD, E.NOTE_HANDED_BACK, E.NOTIFY_BACK_TO_AGENT,
                                                          E.CLOSE_ALERTS), None),
    (HUMAN_A, Kind.HANDBACK, B, False, Mode.HUMAN, A, (), Refusal.OWNED_BY_OTHER),
    (AGENT, Kind.HANDBACK, A, False, Mode.AGENT, None, (), Refusal.ALREADY_AGENT),
    (CLOSED, Kind.HANDBACK, A, False, Mode.CLOSED, None, (), Refusal.ALREADY_CLOSED),
    (AGENT, Kind.RESOLVE, A, False, Mode.CLOSED, None, (E.CANCEL_AGENT, E.UPDATE_CARD, E.NOTE_RESOLVED,
                                                        E.NOTIFY_RESOLVED, E.CLOSE_ALERTS, E.ASK_RATING), None),
    (HUMAN_A, Kind.RESOLVE, A, False, Mode.CLOSED, None, (E.CANCEL_AGENT, E.UPDATE_CARD, E.NOTE_RESOLVED,
                                                          E.NOTIFY_RESOLVED, E.CLOSE_ALERTS, E.ASK_RATING), None),
    (HUMAN_A, Kind.RESOLVE, B, False, Mode.HUMAN, A, (), Refusal.OWNED_BY_OTHER),
    (CLOSED, Kind.RESOLVE, A, False, Mode.CLOSED, None, (), Refusal.ALREADY_CLOSED),
    (NONE, Kind.RESOLVE, A, False, Mode.NONE, None, (), Refusal.NOT_OPEN),
]


@pytest.mark.parametrize(("state", "kind", "actor", "handoff", "mode", "owner", "effects", "refusal"), TABLE)
def test_transition(state: State, kind: Kind, actor: str | None, handoff: bool, mode: Mode, owner: str | None,
                    effects: tuple[E, ...], refusal: Refusal | None) -> None:
    decision = decide(state, kind, actor=actor, handoff=handoff)
    assert decision.state.mode is mode
    assert decision.state.owner == owner
    assert decision.effects == effects
    assert decision.refusal is refusal


ESCALATE = (E.NOTIFY_WAITING, E.NOTE_NEEDS_HUMAN, E.UPDATE_CARD, E.RAISE_ALERT)


@pytest.mark.parametrize(("state", "effects"), [
    (NONE, (E.OPEN_THREAD, E.MIRROR_CUSTOMER, *ESCALATE)),
    (CLOSED, (E.OPEN_THREAD, E.MIRROR_CUSTOMER, *ESCALATE)),
    (AGENT, (E.MIRROR_CUSTOMER, *ESCALATE)),
    (State(Mode.AGENT, needs_human=True), (E.MIRROR_CUSTOMER,)),  # told once, alerted once
    (HUMAN_A, (E.MIRROR_CUSTOMER,)),
])
def test_an_escalating_customer_message(state: State, effects: tuple[E, ...]) -> None:
    decision = decide(state, Kind.CUSTOMER_MESSAGE, escalate=True)
    assert decision.effects == effects
    assert E.ASK_AGENT not in decision.effects
    if state.mode is not Mode.HUMAN:
        assert decision.state.needs_human


def test_a_takeover_clears_waiting_for_a_human_and_a_handback_never_keeps_an_owner() -> None:
    after = decide(State(Mode.AGENT, needs_human=True), Kind.TAKEOVER, actor=A).state
    assert after == State(Mode.HUMAN, A, needs_human=False)
    assert decide(after, Kind.HANDBACK, actor=A).state == State(Mode.AGENT)


@pytest.mark.parametrize("kind", [Kind.HANDBACK, Kind.RESOLVE])
def test_only_the_owner_or_a_privileged_actor_hands_back_or_resolves_an_owned_conversation(kind: Kind) -> None:
    assert decide(HUMAN_A, kind, actor=B).refusal is Refusal.OWNED_BY_OTHER
    assert decide(HUMAN_A, kind, actor=B, privileged=True).refusal is None  # an admin, or the idle timer
    assert decide(HUMAN_A, kind, actor=A).refusal is None
    assert decide(AGENT, Kind.RESOLVE, actor=B).refusal is None  # nobody owns it: any operator may resolve
