"""The core's thread notes worded for Slack: one renderer per kind of note, in one table.

The core emits typed notes with raw facts (bot/core/notes.py); this is where they become mrkdwn. Every outside
string (a name, a model's reason, a platform's error, an entry title) goes through `bot.core.text.quote`, the
one escaping function, so `<!channel>` in a customer's name shows as typed instead of notifying the channel.
Rows written before the notes were typed carry their mrkdwn already rendered and escaped (`text`) and are
posted as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import notes as n
from bot.core.outbox_kinds import Note
from bot.core.text import quote


def _stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _customer_waiting(note: n.CustomerWaiting) -> str:
    who = f"{note.owner}'s" if note.owner is not None else "a human's"
    return f":hourglass: {quote(f'The customer has waited {note.waited_minutes} minutes for {who} reply')}."


def _owner_silent(note: n.OwnerSilent) -> str:
    return (f":hourglass: <@{quote(note.owner_slack_user_id or '')}>, no reply here for {note.silent_minutes:g} "
            f"minutes: the conversation goes back to the agent in {note.minutes_left:g} minutes unless you reply.")


def _choices_offered(note: n.ChoicesOffered) -> str:
    offered = ", ".join(f"“{quote(label)}”" for label in note.labels)
    why = f" ({quote(note.context)})" if note.context else ""
    return f":question: The agent asked which one is meant{why}. Buttons: {offered}, “{quote(note.person)}”."


# A renderer per kind of note; tests/operator_bridge/test_notes_out.py checks that every kind has one.
RENDERERS: dict[type[n.ThreadNote], Callable[[Any], str]] = {
    n.TakenOver: lambda note: (f":raising_hand: *{quote(note.operator)}* took over. The agent is silent; "
                               "replies in this thread now go to the customer."),
    n.HandedBack: lambda note: f":robot_face: *{quote(note.operator)}* handed the conversation back to the agent.",
    n.Resolved: lambda note: f":white_check_mark: *{quote(note.operator)}* resolved the conversation.",
    n.NeedsHuman: lambda note: f":rotating_light: *Needs a human*: {quote(note.reason or 'the agent asked')}.",
    n.CustomerWaiting: _customer_waiting,
    n.OwnerSilent: _owner_silent,
    n.NotDeleted: lambda note: (f":warning: {quote(note.author)}'s deleted reply was *not* deleted for the customer: "
                                f"{quote(note.why)}. They still see it."),
    n.NotDelivered: lambda note: f":warning: Not delivered to the customer: {quote(note.reason)}.",
    n.SentAsCorrection: lambda note: (f":pencil2: The customer's copy could not be edited ({quote(note.why)}), "
                                      "so Baton sent the new text as a correction."),
    n.Rated: lambda note: f":star: The customer rated this conversation {_stars(note.rating)} {note.rating}/5.",
    n.ChoicesOffered: _choices_offered,
    n.ChoicePicked: lambda note: ":point_up: The customer pressed this button under the agent's question.",
    n.BlockedTheBot: lambda note: (f":no_entry: {quote(note.customer)} blocked the bot: nothing can reach them "
                                   "until they unblock it."),
    n.UnblockedTheBot: lambda note: f":arrows_counterclockwise: {quote(note.customer)} unblocked the bot.",
    n.AgentContext: lambda note: f":mag: {quote(note.context)}",
    n.Brief: lambda note: ":memo: *Brief for the agent*\n" + quote(note.brief),
}


def render(note: n.ThreadNote) -> str:
    return RENDERERS[type(note)](note)


def note_text(payload: Note) -> str:
    """The mrkdwn of a NOTE row's payload; ValueError if it names a note this release does not know."""
    if payload.note is None:
        assert payload.text is not None  # the payload type requires one of the two
        return payload.text  # written by the previous release: rendered and escaped then
    return render(n.decode(payload))
