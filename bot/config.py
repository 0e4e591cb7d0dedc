"""Typed settings from one TOML file, with secrets overridable from the environment."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.config_rules import HttpUrl, check_webhook_url, refuse_example_ids

# Values people leave in by mistake when copying config.example.toml.
_PLACEHOLDER = re.compile(r"^(|changeme|change-me|xxx+|<.*>|your[-_ ].*|\.\.\.|TODO)$|replace[-_ ]?(me|with)",
                          re.IGNORECASE)
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_TG_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# Environment variables that override secrets in the file (the file may then omit them).
ENV_SECRETS: dict[str, tuple[str, str]] = {
    "TELEGRAM_BOT_TOKEN": ("telegram", "token"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "BATON_STORAGE_URL": ("storage", "url"),
    "OPENAI_API_KEY": ("agent", "api_key"),
}


class ConfigError(Exception):
    """A configuration problem, phrased for the person who wrote the file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: str
    api_url: HttpUrl = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: HttpUrl | None = None
    webhook_secret: str | None = None
    poll_timeout: int = Field(default=30, ge=0, le=50)
    # Telegram: about 1 message per second per chat (short bursts tolerated) and 30 per second overall.
    per_chat_per_second: float = Field(default=1.0, gt=0)
    per_chat_burst: int = Field(default=3, ge=1)
    overall_per_second: float = Field(default=25.0, gt=0)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, v: str) -> str:
        if _PLACEHOLDER.search(v.strip()):
            raise ValueError("is missing or a placeholder; set it or TELEGRAM_BOT_TOKEN (from @BotFather)")
        if not re.match(r"^\d+:[A-Za-z0-9_-]+$", v):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, v: str | None) -> str | None:
        if v is not None and not _TG_SECRET.match(v):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @model_validator(mode="after")
    def _webhook_complete(self) -> TelegramSettings:
        if self.mode == "webhook" and not (self.webhook_url and self.webhook_secret):
            raise ValueError("mode = \"webhook\" needs both webhook_url and webhook_secret")
        check_webhook_url(self.webhook_url, self.api_url)
        return self


class SlackSettings(_Section):
    bot_token: str
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: HttpUrl = "https://slack.com/api/"
    mode: Literal["socket", "http"] = "socket"
    channel: str | None = None
    alerts_channel: str | None = None
    channels: list[str] = Field(default_factory=list)
    agent_name: str = "Baton agent"
    agent_icon_emoji: str = ":robot_face:"
    # Slack: chat.postMessage about 1 per second per channel with short bursts; chat.update and
    # reactions.add are Tier 3 (50+ per minute per workspace).
    per_channel_per_second: float = Field(default=1.0, gt=0)
    per_channel_burst: int = Field(default=3, ge=1)
    tier3_per_minute: float = Field(default=50.0, gt=0)
    # App Home: at most one views.publish per person per this many seconds (Slack limits it per user).
    home_refresh_seconds: float = Field(default=3.0, ge=0)
    # Every Web API call gives up after this long (aiohttp's default would be 300 s).
    api_timeout_seconds: float = Field(default=30.0, gt=0)
    # Slack inputs are kept in this local file until applied (default: next to a SQLite database, else
    # $BATON_SLACK_SPOOL_PATH or ./baton-slack-spool.db); one that cannot be applied for this long is
    # dropped and its author told.
    spool_path: Path | None = None
    spool_give_up_minutes: float = Field(default=60.0, gt=0)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, v: str) -> str:
        if _PLACEHOLDER.search(v.strip()) or not v.startswith("xoxb-"):
            raise ValueError("must be the bot token starting with xoxb- (or set SLACK_BOT_TOKEN)")
        return v

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, v: str | None) -> str | None:
        if v is not None and (_PLACEHOLDER.search(v.strip()) or not v.startswith("xapp-")):
            raise ValueError("must be an app-level token starting with xapp- (or set SLACK_APP_TOKEN)")
        return v

    @field_validator("channel", "alerts_channel")
    @classmethod
    def _channel_id(cls, v: str | None) -> str | None:
        if v is not None:
            _check_channel(v)
        return v

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, v: list[str]) -> list[str]:
        for channel in v:
            _check_channel(channel)
        return v

    @property
    def conversation_channels(self) -> list[str]:
        """Where conversation threads go: `channels` when set (new conversations spread over them)."""
        return self.channels or [self.channel or ""]

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @model_validator(mode="after")
    def _transport_complete(self) -> SlackSettings:
        if self.mode == "socket" and not self.app_token:
            raise ValueError("mode = \"socket\" needs app_token (xapp-..., or set SLACK_APP_TOKEN)")
        if not self.channel and not self.channels:
            raise ValueError("set channel (the channel id for conversation threads, like C0123ABCD)")
        if self.mode == "http" and not self.signing_secret:
            raise ValueError("mode = \"http\" needs signing_secret (or set SLACK_SIGNING_SECRET)")
        return self


def _check_channel(v: str) -> None:
    if not _SLACK_CHANNEL.match(v):
        raise ValueError(f"{v!r} is not a channel id; use the id (like C0123ABCD) from the channel's details, "
                         "not its name")
    refuse_example_ids(v)


class ServerSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)


class LoggingSettings(_Section):
    # "json": one JSON object per line, for log collectors; tokens are redacted in both formats.
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"


class StorageSettings(_Section):
    url: str = "sqlite+aiosqlite:///baton.db"
    # SQLite: how long a write waits for another writer's lock before "database is locked".
    busy_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _supported(cls, v: str) -> str:
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v


class AgentSettings(_Section):
    backend: str = "faq"
    knowledge_base: Path = Path("knowledge.md")
    # The built-in agent's matching: "multilingual-e5-small" (shipped with Baton) or "none" (words only).
    embedding_model: Literal["multilingual-e5-small", "none"] = "multilingual-e5-small"
    # Where the knowledge base's vectors are kept between starts (a large file then needs no re-embedding
    # after a restart); unset: kept in memory only.
    index_cache: Path | None = None
    # Answer when the best entry's meaning score is at least answer_threshold and its question alone is
    # also the best match, or at least answer_threshold_alone; and it leads the runner-up by answer_margin
    # standard deviations.
    # `baton kb eval --sweep` suggests values for your own question file.
    answer_threshold: float = Field(default=0.83, ge=0, le=1)
    answer_threshold_alone: float = Field(default=0.875, ge=0, le=1)
    answer_margin: float = Field(default=0.1, ge=0)
    threshold: float = Field(default=0.55, ge=0, le=1)  # the word matcher's (embedding_model = "none")
    timeout_seconds: float = Field(default=30, gt=0)
    # backend = "openai": any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, LM Studio).
    base_url: str = "https://api.openai.com/v1"
    model: str | None = Field(default=None, validate_default=True)
    api_key: str | None = None  # local servers usually need none
    system_prompt: str | None = None  # None: the built-in prompt in bot/agent/llm.py
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_context_passages: int = Field(default=3, ge=0, le=20)
    # The whole knowledge base goes to the model when it fits this many tokens (about 4 characters
    # each); else the best max_context_passages entries.
    context_token_budget: int = Field(default=6000, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be the server's http(s) address ending in /v1, like http://localhost:11434/v1")
        return v.rstrip("/")

    @field_validator("model")
    @classmethod
    def _model_for_openai(cls, v: str | None, info: ValidationInfo) -> str | None:
        # Validated even when absent (validate_default), so a missing model is named as agent.model.
        if info.data.get("backend") == "openai" and (v is None or _PLACEHOLDER.match(v.strip())):
            raise ValueError('is required for backend = "openai": the model name, like "gpt-4o-mini" or "llama3.1"')
        return v

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # an empty key means none, as for a local server
        if _PLACEHOLDER.match(v.strip()):
            raise ValueError("is a placeholder; set it or OPENAI_API_KEY, or leave it out for a local server")
        return v


class AccessSettings(_Section):
    operators: list[str] = Field(default_factory=list)
    operator_group: str | None = None
    admins: list[str] = Field(default_factory=list)

    @field_validator("operators", "admins")
    @classmethod
    def _user_ids(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not _SLACK_USER.match(u)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))}: use Slack member ids (like U0123ABCD)")
        refuse_example_ids(*v)
        return v

    @field_validator("operator_group")
    @classmethod
    def _group_id(cls, v: str | None) -> str | None:
        if v is not None and not _SLACK_GROUP.match(v):
            raise ValueError(f"{v!r} is not a user group id (like S0123ABCD)")
        refuse_example_ids(v)
        return v


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


class Settings(_Section):
    telegram: TelegramSettings
    slack: SlackSettings
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    agent: AgentSettings = AgentSettings()
    access: AccessSettings = AccessSettings()
    texts: TextSettings = TextSettings()
    escalation: EscalationSettings = EscalationSettings()
    timers: TimerSettings = TimerSettings()
    campaigns: CampaignSettings = CampaignSettings()
    logging: LoggingSettings = LoggingSettings()


def _apply_env(data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    for var, (section, key) in ENV_SECRETS.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    return data


def _describe(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "config"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "is required but missing"
        elif e["type"] == "extra_forbidden":
            msg = "is not a known setting (check the spelling against config.example.toml)"
        problems.append(f"{where}: {msg}")
    return problems


def parse_settings(data: dict[str, Any], env: dict[str, str] | None = None, base_dir: Path | None = None) -> Settings:
    data = _apply_env({k: dict(v) if isinstance(v, dict) else v for k, v in data.items()},
                      dict(os.environ) if env is None else env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    agent = settings.agent
    if base_dir is not None:  # file paths in [agent] are relative to the config file
        paths = {"knowledge_base": agent.knowledge_base, "index_cache": agent.index_cache}
        relative = {k: base_dir / v for k, v in paths.items() if v is not None and not v.is_absolute()}
        if relative:
            settings = settings.model_copy(update={"agent": agent.model_copy(update=relative)})
    return settings


def load_settings(path: Path, env: dict[str, str] | None = None) -> Settings:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file ({exc.strerror or exc})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_settings(data, env, base_dir=path.resolve().parent)
