"""The core's typed thread notes, worded for Slack: every kind has a renderer, and outside text is escaped."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, get_type_hints

import pytest

from bot.core import notes
from bot.core import outbox_kinds as k
from operator_bridge.notes_out import RENDERERS, note_text, render
from storage.models import OutboxItem

HOSTILE = "<!channel> & <@U0BOSS> <https://evil|login>"


def _sample(hint: Any) -> Any:
    if hint in (str, str | None):
        return HOSTILE
    if hint is int:
        return 3
    if hint is float:
        return 2.5
    if hint == tuple[str, ...]:
        return (HOSTILE, "Returns")
    raise AssertionError(f"no sample for {hint!r}")


def _every_note() -> list[notes.ThreadNote]:
    made = []
    for cls in notes.NOTES.values():
        hints = get_type_hints(cls)
        made.append(cls(**{f.name: _sample(hints[f.name]) for f in dataclasses.fields(cls)}))
    return made


def test_every_kind_of_note_has_a_renderer() -> None:
    assert set(RENDERERS) == set(notes.NOTES.values())


@pytest.mark.parametrize("note", _every_note(), ids=lambda note: note.kind)
def test_a_note_goes_through_the_row_and_its_outside_text_is_escaped(note: notes.ThreadNote) -> None:
    row = OutboxItem(id=1, destination="slack", lane="conversation:1", kind="note",
                     payload=json.dumps(k.encode(notes.encode(note))))
    payload = k.parse(row, k.NOTE)
    assert notes.decode(payload) == note
    assert payload.alert == isinstance(note, notes.NeedsHuman)
    text = note_text(payload)
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://evil" not in text
    if any(v == HOSTILE or (isinstance(v, tuple) and HOSTILE in v) for v in dataclasses.astuple(note)):
        assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in text


def test_the_wording_operators_know() -> None:
    assert render(notes.NeedsHuman(None)) == ":rotating_light: *Needs a human*: the agent asked."
    assert render(notes.NeedsHuman("asked for a refund")) == ":rotating_light: *Needs a human*: asked for a refund."
    assert render(notes.TakenOver("Alice")) == (
        ":raising_hand: *Alice* took over. The agent is silent; replies in this thread now go to the customer.")
    assert render(notes.CustomerWaiting(11, "Alice")) == (
        ":hourglass: The customer has waited 11 minutes for Alice's reply.")
    assert render(notes.CustomerWaiting(11)) == ":hourglass: The customer has waited 11 minutes for a human's reply."
    assert render(notes.OwnerSilent("U0ALICE", 25.0, 5.0)) == (
        ":hourglass: <@U0ALICE>, no reply here for 25 minutes: the conversation goes back to the agent in 5 minutes "
        "unless you reply.")
    assert render(notes.Rated(4)) == ":star: The customer rated this conversation ★★★★☆ 4/5."
    assert render(notes.ChoicesOffered(("Shipping", "Returns"), "A person", "2 close matches")) == (
        ":question: The agent asked which one is meant (2 close matches). "
        "Buttons: “Shipping”, “Returns”, “A person”.")
    assert render(notes.Brief("Refund approved")) == ":memo: *Brief for the agent*\nRefund approved"


def test_a_row_of_the_previous_release_posts_its_text_as_written() -> None:
    row = OutboxItem(id=1, destination="slack", lane="conversation:1", kind="note",
                     payload='{"text": ":rotating_light: *Needs a human*: left pending.", "alert": true}')
    assert note_text(k.parse(row, k.NOTE)) == ":rotating_light: *Needs a human*: left pending."


def test_a_note_this_release_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown thread note 'frobnicated'"):
        note_text(k.Note(note="frobnicated"))
    with pytest.raises(ValueError, match="'rating' is missing"):
        note_text(k.Note(note="rated", fields={}))
