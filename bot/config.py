"""Typed settings from one TOML file, with secrets overridable from the environment."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.config_rules import HttpUrl, check_webhook_url, refuse_example_ids
from bot.core.settings import (  # the core's settings, one section each of the file
    CampaignSettings,
    EscalationSettings,
    TextSettings,
    TimerSettings,
)

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
    answer_threshold: float = Field(default=0.82, ge=0, le=1)
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
