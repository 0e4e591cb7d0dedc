"""The outbox registry: every kind the core writes has a payload type and a handler where it goes, payloads
round-trip through the row's JSON, and a malformed payload is refused naming its row."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bot.config import TextSettings
from bot.core import claim, settle
from bot.core import outbox_kinds as k
from bot.core.access import Access
from bot.core.agent_worker import AgentWorker
from bot.core.outbox_routes import Route, Routes
from bot.core.ports import Delivered, Failed, Loaded
from bot.core.service import Service
from bot.telegram_io.outbound import TelegramDeliverer
from operator_bridge.outbound import SlackDeliverer
from storage.db import Database
from storage.models import OutboxItem
from tests.support.agents import ScriptedAgent

ROOT = Path(__file__).resolve().parents[3]


def _routes_by_destination() -> dict[str, Routes]:
    db = Database("sqlite+aiosqlite://")  # never connected: the deliverers only keep it
    slack = SlackDeliverer(AsyncWebClient(token="xoxb-test"), db, channels=["C0SUPPORT"], agent_name="Agent",
                           agent_icon_emoji=":robot_face:")
    telegram = TelegramDeliverer(Bot("123:test"), db)
    agent = AgentWorker(Service(db, texts=TextSettings(), access=Access([])), ScriptedAgent())
    return {d.destination: d.routes for d in (slack, telegram, agent)}


def test_every_kind_has_a_handler_at_its_destination_and_no_handler_is_stray() -> None:
    routes = _routes_by_destination()
    assert {kind.destination for kind in k.KINDS.values()} == set(routes)
    for destination, table in routes.items():
        assert table.kinds == k.kinds_for(destination), destination


def test_each_handler_takes_its_kinds_payload_type() -> None:
    # mypy checks this where the tables are built; this catches a handler typed loosely (Any).
    for table in _routes_by_destination().values():
        for kind in table.kinds:
            handler = table.handler(kind)
            assert handler is not None
            assert get_type_hints(handler)["payload"] is k.KINDS[kind].payload, kind


def test_the_claim_and_settle_tables_name_registered_kinds_only() -> None:
    for table in (claim._READS, settle.ON_DELIVERED, settle.ON_FAILED):
        for kind in table:
            assert k.KINDS.get(kind) is kind


def test_only_the_registry_writes_outbox_rows() -> None:
    # Every row the core writes goes through outbox_kinds.enqueue, which refuses a kind it does not know:
    # so the registry enumerates every kind the core emits.
    direct = re.compile(r"\boutbox\.enqueue\(")
    writers = [str(path.relative_to(ROOT)) for package in ("bot", "operator_bridge")
               for path in (ROOT / package).rglob("*.py") if direct.search(path.read_text())]
    assert writers == ["bot/core/outbox_kinds.py"]


def test_an_unregistered_kind_or_a_wrong_field_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="unknown outbox kind 'frobnicate'"):
        k.enqueue_fields(None, "frobnicate", lane="conversation:1", now=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        k.enqueue_fields(None, k.NOTE, lane="conversation:1", now=None, txt="typo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="carries Note"):
        k.enqueue(None, k.NOTE, k.Notice("x"), lane="conversation:1", now=None)  # type: ignore[arg-type]


def _sample(hint: Any) -> Any:
    if get_origin(hint) in (Union, type(int | None)):
        return _sample(next(a for a in get_args(hint) if a is not type(None)))
    if get_origin(hint) is tuple:
        return ("one", "two")
    if get_origin(hint) is dict:
        return {"name": "text <b>", "minutes": 7.5, "labels": ["one", "two"], "reason": None}
    return {str: "text <b>", int: 7, bool: True}[hint]


@pytest.mark.parametrize("kind", sorted(k.KINDS))
def test_every_payload_round_trips_through_the_rows_json(kind: str) -> None:
    spec = k.KINDS[kind]
    hints = get_type_hints(spec.payload)
    full = spec.payload(**{f.name: _sample(hints[f.name]) for f in dataclasses.fields(spec.payload)})
    for payload in (full, *([spec.payload()] if all(f.default is not dataclasses.MISSING
                                                    for f in dataclasses.fields(spec.payload)) else [])):
        row = _row(kind, json.dumps(k.encode(payload)), destination=spec.destination)
        assert k.parse(row, spec) == payload


def _row(kind: str, payload: str, *, destination: str = "slack", id: int = 41) -> OutboxItem:
    return OutboxItem(id=id, destination=destination, lane="conversation:1", kind=kind, payload=payload)


def test_defaults_are_left_out_of_the_json_as_before() -> None:
    assert k.encode(k.Chunked()) == {}
    assert k.encode(k.Note(text="hello")) == {"text": "hello"}
    assert k.encode(k.Choices(("A", "B"), "A person")) == {"choices": ["A", "B"], "person": "A person"}


def test_keys_the_type_does_not_have_are_ignored() -> None:
    # A retry's progress is merged into whichever row it was; a newer release may add keys.
    row = _row("correction", '{"html": "<b>New</b>", "why": "too old", "chunks_sent": 2, "later": 1}',
               destination="telegram")
    assert k.parse(row, k.CORRECTION) == k.Correction("<b>New</b>", "too old")


@pytest.mark.parametrize(("kind", "payload", "why"), [
    ("note", "{}", "neither 'note' nor 'text' is given"),
    ("note", '{"text": 5}', "'text' is 5, not str | None"),
    ("note", '{"note": "rated", "fields": []}', "'fields' is [], not dict"),
    ("react", '{"ts": "1.2", "name": null}', "'name' is None, not str"),
    ("alert", '{"alert_id": "7"}', "'alert_id' is '7', not int"),
    ("alert", '{"alert_id": true}', "'alert_id' is True, not int"),
    ("note", "[1, 2]", "a JSON list, not an object"),
    ("note", "{not json", "not JSON"),
])
def test_a_malformed_payload_is_refused_naming_its_row(kind: str, payload: str, why: str) -> None:
    with pytest.raises(k.MalformedPayload) as refused:
        k.parse(_row(kind, payload), k.KINDS[kind])
    assert str(refused.value).startswith(f"outbox 41 (slack/{kind}): malformed payload: ")
    assert why in str(refused.value)


def test_choices_must_be_a_list_of_labels() -> None:
    row = _row("choices", '{"choices": ["A", 2], "person": "P"}', destination="telegram")
    with pytest.raises(k.MalformedPayload, match=re.escape("'choices' is ['A', 2], not tuple[str, ...]")):
        k.parse(row, k.CHOICES)


def test_a_kind_sent_to_the_wrong_destination_is_unknown_there() -> None:
    with pytest.raises(k.UnknownKind, match=re.escape("outbox 41 (telegram/note): the kind belongs to destination")):
        k.kind_of(_row("note", '{"text": "x"}', destination="telegram"))


async def test_a_table_fails_a_kind_it_has_no_handler_for_and_parses_what_the_claim_did_not() -> None:
    async def note(item: OutboxItem, payload: k.Note, loaded: Loaded) -> Delivered:
        return Delivered(skipped=payload.text)

    table = Routes("slack", Route(k.NOTE, note))
    assert await table.deliver(_row("react", '{"ts": "1", "name": "eyes"}'), Loaded()) == Failed(
        "no slack handler for outbox kind 'react'")
    assert await table.deliver(_row("note", '{"text": "parsed here"}'), Loaded()) == Delivered(skipped="parsed here")
    refused = await table.deliver(_row("note", "{}"), Loaded())
    assert isinstance(refused, Failed) and refused.reason.startswith("outbox 41 (slack/note): malformed payload")
    with pytest.raises(ValueError, match="goes to telegram"):
        Routes("slack", Route(k.NOTICE, note))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two handlers"):
        Routes("slack", Route(k.NOTE, note), Route(k.NOTE, note))
