"""Why Baton could not start, in a few lines naming the setting and the fix (never a token or a traceback).

The composition root records which part it was starting (`Baton.starting`); the error of that part is
translated here. Library messages are not echoed where they may carry a secret (python-telegram-bot puts
the bot token into InvalidToken's message), and anything echoed is redacted.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from bot.config import Settings
from bot.logs import redact
from operator_bridge.channel_watch import error_of

SLACK_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                     "not_allowed_token_type"}


class StartupFailed(Exception):
    """Raised by run_forever: what was being started, and what went wrong."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"{step}: {type(cause).__name__}")
        self.step, self.cause = step, cause


def _reason(exc: BaseException) -> str:
    lines = redact(str(exc)).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def token_fix(key: str) -> str:
    return {
        "telegram.token": "copy the token from @BotFather (/mybots → API Token) into [telegram] token "
                          "or the TELEGRAM_BOT_TOKEN environment variable",
        "slack.bot_token": "copy the Bot User OAuth Token (xoxb-…, OAuth & Permissions) into [slack] bot_token "
                           "or the SLACK_BOT_TOKEN environment variable, and make sure the app is installed",
        "slack.app_token": "create an app-level token with connections:write (Basic Information → App-Level "
                           "Tokens, xapp-…) and put it into [slack] app_token or the SLACK_APP_TOKEN environment "
                           "variable; Socket Mode must be enabled for the app",
    }[key]


def slack_problem(exc: SlackApiError, api_url: str) -> str:
    """One line for a Slack Web API error answered while starting or checking."""
    called = str(getattr(exc.response, "api_url", "") or "")
    method = called.rsplit("/", 1)[-1] or "a Web API method"
    error = error_of(exc)
    key = "slack.app_token" if method == "apps.connections.open" else "slack.bot_token"
    if error in SLACK_AUTH_ERRORS:
        kind = "app-level" if key == "slack.app_token" else "bot"
        return f"{key}: Slack refused the {kind} token ({error} from {method}). Fix: {token_fix(key)}."
    if error == "missing_scope":
        needed = (exc.response.data.get("needed") if isinstance(exc.response.data, dict) else None) \
            or "the scope it names"
        return (f"{key}: the token lacks the scope {needed} (needed for {method}). Fix: add it under OAuth & "
                "Permissions (see operator_bridge/manifest.yml) and reinstall the app.")
    return f"slack.api_url: Slack answered {error} to {method} at {api_url}."


def explain(failure: StartupFailed, settings: Settings) -> list[str]:
    """A few lines: what failed, under which setting, and how to fix it."""
    step, exc = failure.step, failure.cause
    if step == "telegram":
        if isinstance(exc, InvalidToken):
            return ["telegram.token: Telegram refused the bot token (Unauthorized). "
                    f"Fix: {token_fix('telegram.token')}."]
        if isinstance(exc, BadRequest) and settings.telegram.mode == "webhook":
            return [f"telegram.webhook_url: Telegram refused the webhook ({_reason(exc)}). Fix: a public https "
                    "URL on port 443, 80, 88 or 8443 that reaches this server's /telegram/webhook."]
        if isinstance(exc, NetworkError | TelegramError | OSError | TimeoutError):
            return [f"telegram.api_url: cannot reach the Telegram Bot API at {settings.telegram.api_url} "
                    f"({type(exc).__name__}: {_reason(exc)}). Fix: check this host's network, proxy and "
                    "firewall, or [telegram] api_url."]
    if step == "slack":
        if isinstance(exc, SlackApiError):
            return [slack_problem(exc, settings.slack.api_url)]
        if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
            return [f"slack.api_url: cannot reach Slack at {settings.slack.api_url} ({type(exc).__name__}: "
                    f"{_reason(exc)}). Fix: check this host's network, proxy and firewall, or [slack] api_url."]
    if step == "database":
        where = make_url(settings.storage.url).render_as_string(hide_password=True)
        return [f"storage.url: cannot open the database {where} ({type(exc).__name__}: {_reason(exc)}). "
                "Fix: check [storage] url or the BATON_STORAGE_URL environment variable, and that the database "
                "server is running and reachable."]
    if step == "spool":
        return [f"slack.spool_path: cannot open the Slack input spool ({type(exc).__name__}: {_reason(exc)}). "
                "Fix: a writable path, one per Baton process, in [slack] spool_path or BATON_SLACK_SPOOL_PATH."]
    if step == "http" and isinstance(exc, OSError):
        return [f"server.port: cannot listen on {settings.server.host}:{settings.server.port} "
                f"({exc.strerror or exc}). Fix: choose a free port in [server] port."]
    return [f"Baton could not start ({step}): {type(exc).__name__}: {_reason(exc)}.",
            "Run with --log-level DEBUG for the details."]
