"""Which customer messages call for a human."""

from __future__ import annotations

import pytest

from bot.config import EscalationSettings
from bot.core.rules import escalation_reason

RULES = EscalationSettings()


@pytest.mark.parametrize(("text", "reason"), [
    ("/human", "asked for a person (/human)"),
    ("/human@baton_bot please", "asked for a person (/human)"),
    ("Can I talk to a REAL person?", "asked for a person (“real person”)"),
    ("Ich möchte mit einem Mitarbeiter sprechen", "asked for a person (“mitarbeiter”)"),
    ("Quiero hablar con alguien", "asked for a person (“hablar con alguien”)"),
    ("Позовите оператора", "asked for a person (“оператора”)"),
    ("I want a refund now", "matches the rule"),
    ("Please CANCEL my order", "matches the rule"),
    ("How long does shipping take?", None),
    ("humanity is great", None),  # a phrase matches whole words only
    ("", None),
])
def test_reasons(text: str, reason: str | None) -> None:
    found = escalation_reason(text, [], RULES)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def test_the_same_question_again_is_a_reason_but_not_the_first_time() -> None:
    question = "Where is my parcel 123?"
    assert escalation_reason(question, [], RULES) is None
    assert escalation_reason(question, ["hello"], RULES) is None
    assert escalation_reason("where is my parcel 123", [question], RULES) == \
        "the customer keeps asking the same question"
    assert escalation_reason("ok", ["ok"], RULES) is None  # short acknowledgements are not questions


def test_rules_are_configurable() -> None:
    rules = EscalationSettings(human_phrases=["sales team"], keywords=[r"\bgdpr\b"], repeated_question=3)
    assert escalation_reason("put me through to the sales team", [], rules)
    assert escalation_reason("a GDPR request", [], rules)
    assert escalation_reason("I want a refund", [], rules) is None
    assert escalation_reason("where is my parcel", ["where is my parcel"], rules) is None
    assert escalation_reason("where is my parcel", ["where is my parcel"] * 2, rules)
