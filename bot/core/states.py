"""The transition table: who answers a conversation, as a pure function of state and event."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    NONE = "none"      # no open conversation yet
    AGENT = "agent"
    HUMAN = "human"
    CLOSED = "closed"


class Kind(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLIED = "agent_replied"
    TAKEOVER = "takeover"
    HANDBACK = "handback"
    RESOLVE = "resolve"
    OPERATOR_MESSAGE = "operator_message"


class Effect(StrEnum):
    OPEN_THREAD = "open_thread"
    MIRROR_CUSTOMER = "mirror_customer"
    MIRROR_AGENT = "mirror_agent"
    ASK_AGENT = "ask_agent"
    DELIVER_AGENT = "deliver_agent"
    DELIVER_OPERATOR = "deliver_operator"
    NOTIFY_OPERATOR_JOINED = "notify_operator_joined"
    NOTIFY_BACK_TO_AGENT = "notify_back_to_agent"
    NOTIFY_RESOLVED = "notify_resolved"
    UPDATE_CARD = "update_card"
    NOTE_TAKEN_OVER = "note_taken_over"
    NOTE_HANDED_BACK = "note_handed_back"
    NOTE_RESOLVED = "note_resolved"
    NOTE_NEEDS_HUMAN = "note_needs_human"
    CANCEL_AGENT = "cancel_agent"
    KEEP_AS_NOTE = "keep_as_note"
    NOTIFY_WAITING = "notify_waiting"
    RAISE_ALERT = "raise_alert"
    CLOSE_ALERTS = "close_alerts"
    ASK_RATING = "ask_rating"  # CSAT: the customer is asked to rate the conversation once it is resolved


class Refusal(StrEnum):
    OWNED_BY_OTHER = "owned_by_other"
    ALREADY_YOURS = "already_yours"
    ALREADY_AGENT = "already_agent"
    ALREADY_CLOSED = "already_closed"
    NOT_OPEN = "not_open"


@dataclass(frozen=True)
class State:
    mode: Mode
    owner: str | None = None
    needs_human: bool = False


@dataclass(frozen=True)
class Decision:
    state: State
    effects: tuple[Effect, ...] = ()
    refusal: Refusal | None = None

    @property
    def changed_mode(self) -> bool:
        return self.refusal is None


# A customer who needs a human: the agent steps back, the customer is told once, the humans are called.
_ESCALATE = (Effect.NOTIFY_WAITING, Effect.NOTE_NEEDS_HUMAN, Effect.UPDATE_CARD, Effect.RAISE_ALERT)


def decide(state: State, kind: Kind, actor: str | None = None, handoff: bool = False,
           escalate: bool = False, privileged: bool = False) -> Decision:
    """Apply one event. `actor` is the operator acting; `handoff` marks an agent reply asking for a human;
    `escalate` marks a customer message that an escalation rule says needs a human; `privileged` marks an
    actor who may hand back or resolve a conversation someone else owns (an admin, or Baton's own timers)."""
    mode, owner = state.mode, state.owner
    E = Effect

    if kind is Kind.CUSTOMER_MESSAGE:
        if mode in (Mode.NONE, Mode.CLOSED):
            if escalate:
                return Decision(State(Mode.AGENT, needs_human=True), (E.OPEN_THREAD, E.MIRROR_CUSTOMER, *_ESCALATE))
            return Decision(State(Mode.AGENT), (E.OPEN_THREAD, E.MIRROR_CUSTOMER, E.ASK_AGENT))
        if mode is Mode.AGENT:
            # While waiting for a human the agent has said its holding line; it does not talk over them.
            if state.needs_human:
                return Decision(state, (E.MIRROR_CUSTOMER,))
            if escalate:
                return Decision(State(Mode.AGENT, needs_human=True), (E.MIRROR_CUSTOMER, *_ESCALATE))
            return Decision(state, (E.MIRROR_CUSTOMER, E.ASK_AGENT))
        return Decision(state, (E.MIRROR_CUSTOMER,))

    if kind is Kind.AGENT_REPLIED:
        if mode is not Mode.AGENT:
            return Decision(state, (), Refusal.NOT_OPEN)  # a late reply after a takeover: dropped
        if handoff:
            return Decision(State(Mode.AGENT, needs_human=True),
                            (E.DELIVER_AGENT, E.MIRROR_AGENT, E.NOTE_NEEDS_HUMAN, E.UPDATE_CARD, E.RAISE_ALERT))
        return Decision(state, (E.DELIVER_AGENT, E.MIRROR_AGENT))

    if kind is Kind.TAKEOVER:
        if mode is Mode.AGENT:
            return Decision(State(Mode.HUMAN, owner=actor),
                            (E.CANCEL_AGENT, E.UPDATE_CARD, E.NOTE_TAKEN_OVER, E.NOTIFY_OPERATOR_JOINED,
                             E.CLOSE_ALERTS))
        if mode is Mode.HUMAN:
            return Decision(state, (), Refusal.ALREADY_YOURS if owner == actor else Refusal.OWNED_BY_OTHER)
        return Decision(state, (), Refusal.ALREADY_CLOSED if mode is Mode.CLOSED else Refusal.NOT_OPEN)

    if kind in (Kind.HANDBACK, Kind.RESOLVE) and mode is Mode.HUMAN and owner != actor and not privileged:
        # An owned conversation changes hands only by its owner or an admin; anyone else is told who owns it.
        return Decision(state, (), Refusal.OWNED_BY_OTHER)

    if kind is Kind.HANDBACK:
        if mode is Mode.HUMAN:
            return Decision(State(Mode.AGENT),
                            (E.UPDATE_CARD, E.NOTE_HANDED_BACK, E.NOTIFY_BACK_TO_AGENT, E.CLOSE_ALERTS))
        if mode is Mode.AGENT:
            return Decision(state, (), Refusal.ALREADY_AGENT)
        return Decision(state, (), Refusal.ALREADY_CLOSED if mode is Mode.CLOSED else Refusal.NOT_OPEN)

    if kind is Kind.RESOLVE:
        if mode in (Mode.AGENT, Mode.HUMAN):
            return Decision(State(Mode.CLOSED),
                            (E.CANCEL_AGENT, E.UPDATE_CARD, E.NOTE_RESOLVED, E.NOTIFY_RESOLVED, E.CLOSE_ALERTS,
                             E.ASK_RATING))
        return Decision(state, (), Refusal.ALREADY_CLOSED if mode is Mode.CLOSED else Refusal.NOT_OPEN)

    if kind is Kind.OPERATOR_MESSAGE:
        if mode is Mode.HUMAN and owner == actor:
            return Decision(state, (E.DELIVER_OPERATOR,))
        if mode is Mode.HUMAN:
            return Decision(state, (E.KEEP_AS_NOTE,), Refusal.OWNED_BY_OTHER)
        if mode is Mode.AGENT:
            return Decision(state, (E.KEEP_AS_NOTE,), Refusal.ALREADY_AGENT)
        return Decision(state, (E.KEEP_AS_NOTE,), Refusal.ALREADY_CLOSED)

    raise ValueError(f"unknown event kind {kind!r}")
