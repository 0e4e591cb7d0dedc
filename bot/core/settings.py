"""Settings the core needs (texts, escalation, timers, campaigns): typed and validated; bot.config builds them."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Ways of asking for a person in the languages customers most often write in; matched case-insensitively
# as whole phrases anywhere in the message.
DEFAULT_HUMAN_PHRASES = [
    "human", "real person", "a person", "talk to someone", "speak to someone", "operator", "agent please",
    "mensch", "mitarbeiter", "echte person", "persona real", "hablar con alguien", "humano", "agente",
    "une personne", "humain", "conseiller", "persona vera", "operatore", "pessoa real", "atendente",
    "человек", "оператор", "живой", "людина", "оператора",
]


class EscalationSettings(_Section):
    """When a conversation is handed to the humans and an alert is raised."""

    human_command: str = "/human"
    human_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_HUMAN_PHRASES))
    # Regular expressions (case-insensitive) that call a human at once, e.g. money or legal trouble.
    keywords: list[str] = Field(default_factory=lambda: [r"\brefund", r"\bcancel", r"\blawyer", r"\bchargeback"])
    # The same question this many times in a row means the agent is not helping.
    repeated_question: int = Field(default=2, ge=2)
    # Alert when a customer waits this long for a human (taken over, or waiting for one); 0 turns it off.
    waiting_minutes: float = Field(default=10, ge=0)

    @field_validator("keywords")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return v


class TimerSettings(_Section):
    # An operator who owns a conversation and stays silent this long gets a warning, then it goes back to
    # the agent. 0 turns it off.
    takeover_idle_minutes: float = Field(default=30, ge=0)
    takeover_idle_warning_minutes: float = Field(default=5, ge=0)
    # Conversations with no activity this long are resolved. 0 turns it off.
    close_after_hours: float = Field(default=24, ge=0)
    sweep_seconds: float = Field(default=30, gt=0)


class CampaignSettings(_Section):
    # Telegram allows about 30 messages per second overall; campaigns stay below so replies still get through.
    per_second: float = Field(default=20.0, gt=0)
    # A customer's first message within this many days after receiving a campaign is a reply to it.
    reply_window_days: float = Field(default=3, ge=0)
    # The campaign's Slack message is updated at most this often while it sends.
    progress_seconds: float = Field(default=3, ge=0)


class LanguageTexts(_Section):
    """Texts for customers whose Telegram language is this one; anything left out falls back to English."""

    greeting: str | None = None
    operator_joined: str | None = None
    operator_joined_anonymous: str | None = None
    back_to_agent: str | None = None
    resolved: str | None = None
    waiting_for_human: str | None = None
    rating_question: str | None = None
    rating_thanks: str | None = None
    opted_out: str | None = None
    untranslated_answer: str | None = None
    which_one: str | None = None
    talk_to_person: str | None = None


class TextSettings(_Section):
    """What customers read. `{operator}` is the operator's display name as set by `show_operator_name`,
    `{first_name}` the customer's. Per language: a table such as `[texts.de]` with the same keys."""

    greeting: str = "Hi {first_name}! Ask me anything, and a person from our team can join at any time."
    operator_joined: str = "You're now talking with {operator}."
    operator_joined_anonymous: str = "A member of our team has joined the conversation."
    back_to_agent: str = "You're back with our automated assistant. Write anytime if you need more help."
    resolved: str = "This conversation is now closed. Write again anytime to start a new one."
    waiting_for_human: str = "I've asked a colleague to join. They will reply here shortly."
    rating_question: str = "How did we do? Rate this conversation from 1 (poor) to 5 (great)."
    rating_thanks: str = "Thank you for your rating! If you'd like to add a comment, just write it here."
    opted_out: str = ("You won't receive our announcements anymore. You can still write to us here, and "
                      "/start turns announcements back on.")
    # Put above a knowledge-base answer that has no version in the customer's language (set per language,
    # e.g. [texts.de] untranslated_answer = "Diese Antwort gibt es nur auf Englisch.").
    untranslated_answer: str = ""
    # When two knowledge-base entries are close, the agent asks this with a button per entry and one more.
    which_one: str = "Which of these do you mean?"
    talk_to_person: str = "Talk to a person"
    show_operator_name: Literal["full", "first", "none"] = "first"
    languages: dict[str, LanguageTexts] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _language_tables(cls, data: Any) -> Any:
        # `[texts.de]` reads better than `[texts.languages.de]`: sub-tables named like a language code
        # (Telegram's language_code: "de", "pt-br") are the per-language texts.
        if isinstance(data, dict):
            languages = dict(data.get("languages") or {})
            for key in [k for k, v in data.items() if isinstance(v, dict) and re.fullmatch(r"[a-z]{2,3}(-[a-z]+)?", k)]:
                languages[key] = data[key]
            data = {k: v for k, v in data.items() if k not in languages} | {"languages": languages}
        return data

    def get(self, name: str, language: str | None) -> str:
        """The text `name` in the customer's language: "pt-br" falls back to "pt", then to English."""
        code = (language or "").lower()
        for candidate in (code, code.split("-")[0]):
            chosen = self.languages.get(candidate)
            if chosen is not None and getattr(chosen, name) is not None:
                return str(getattr(chosen, name))
        return str(getattr(self, name))
