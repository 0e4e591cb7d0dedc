"""The `baton` command: run, demo, check-config, db upgrade, kb test / eval."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.kb_cli import kb_app

# No local variables in tracebacks: they would print the settings, tokens included.
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help=f"Baton {__version__}: Telegram support with an agent, mirrored into Slack threads where "
                  "operators take over.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path to config.toml.")]
DEFAULT_CONFIG = Path("config.toml")


def _load(path: Path) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        typer.secho(f"Configuration problems in {path}:", fg="red", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None


@app.command()
def run(config: Annotated[Path | None, typer.Option("--config", "-c", help="Path to config.toml.")] = None,
        log_level: Annotated[str | None, typer.Option(help="Overrides [logging] level.")] = None) -> None:
    """Run Baton. Without a config file it runs the sandbox demo instead."""
    from bot import logs

    logs.setup(log_level or "INFO")
    path = config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    if path is None:
        typer.echo("No config.toml here: starting the local sandbox demo (see README to run for real).\n")
        _demo(8090)
        return
    settings = _load(path)
    logs.setup(log_level or settings.logging.level, settings.logging.format, secrets=logs.secrets_of(settings))
    _check_runtime(settings)
    from bot.app import run_forever
    from bot.startup import StartupFailed, explain

    try:
        asyncio.run(run_forever(settings))
    except StartupFailed as failure:
        typer.secho("Baton cannot start:", fg="red", err=True)
        for line in explain(failure, settings):
            typer.echo(f"  - {line}", err=True)
        typer.echo(f"Check everything at once with: baton check-config --config {path}", err=True)
        raise typer.Exit(1) from None


@app.command()
def demo(port: Annotated[int, typer.Option(help="Port of the sandbox page (0: any free port).")] = 8090) -> None:
    """Start the Telegram and Slack sandboxes, play a scripted conversation, keep them running."""
    from bot import logs

    logs.setup("WARNING")
    _demo(port)


def _demo(port: int) -> None:
    from bot.demo import run_demo

    try:
        asyncio.run(run_demo(port=port))  # returns on Ctrl-C or SIGTERM, having removed its temporary files
        typer.echo("Stopped.")
    except OSError as exc:
        typer.secho(f"Cannot start the sandboxes on port {port} and {port + 1}: {exc.strerror or exc}. "
                    "Try `baton demo --port 0` (any free port).", fg="red", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("Stopped.")


@app.command("check-config")
def check_config(config: ConfigOption = DEFAULT_CONFIG,
                 offline: Annotated[bool, typer.Option("--offline", help="Check the file only: do not ask "
                                                       "Telegram and Slack about tokens, channels and people.")]
                 = False) -> None:
    """Validate a config file, and (unless --offline) ask Telegram and Slack about it: every problem at once."""
    from bot.preflight import check

    report = asyncio.run(check(config, online=not offline))
    if report.problems:
        typer.secho(f"Configuration problems in {config}:", fg="red", err=True)
        for problem in report.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2)
    settings = report.settings
    assert settings is not None
    typer.secho(f"{config} is valid: Telegram {settings.telegram.mode}, Slack {settings.slack.mode} mode, "
                f"channel {settings.slack.channel or ', '.join(settings.slack.channels)}, "
                f"storage {settings.storage.url.split('://')[0]}.", fg="green")
    if offline:
        typer.echo("Not checked with Telegram and Slack (--offline).")
    else:
        typer.echo("Confirmed online: " + "; ".join(report.facts) + ".")


def _check_runtime(settings: Settings) -> None:
    from bot.agent.registry import AgentConfigError, check_agent

    try:
        check_agent(settings.agent, settings.texts)
    except (AgentConfigError, OSError, ValueError) as exc:
        typer.secho(f"agent: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Bring the database schema up to date (also done automatically at start)."""
    from storage.db import Database

    settings = _load(config)

    async def _go() -> None:
        db = Database(settings.storage.url)
        await db.upgrade()
        await db.dispose()

    asyncio.run(_go())
    typer.echo("Database schema is up to date.")


@app.command("export")
def export(config: ConfigOption = DEFAULT_CONFIG,
           conversation: Annotated[int | None, typer.Option(help="One conversation by number.")] = None,
           customer: Annotated[str | None, typer.Option(help="@username, Telegram id or name.")] = None,
           since: Annotated[str | None, typer.Option(help="Opened on or after this date (YYYY-MM-DD).")] = None,
           until: Annotated[str | None, typer.Option(help="Opened before this date (YYYY-MM-DD).")] = None,
           out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
           format: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """Export conversation transcripts as text or JSON."""
    from datetime import UTC, datetime

    from bot.core import transcript
    from storage import history
    from storage.db import Database

    if format not in ("text", "json"):
        raise typer.BadParameter("--format must be text or json")
    settings = _load(config)

    def day(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None

    async def _go() -> str:
        db = Database(settings.storage.url)
        try:
            async with db.transaction() as session:
                if conversation is not None:
                    ids = [conversation]
                elif customer is not None:
                    ids = [c.id for person in await history.find_customers(session, customer)
                           for c in await history.conversations_of(session, person.id or 0, limit=10_000)]
                    ids = sorted(i for i in ids if i is not None)
                else:
                    ids = [c.id for c in await history.conversations_between(session, day(since), day(until))
                           if c.id is not None]
                found = await transcript.load(session, ids)
        finally:
            await db.dispose()
        return transcript.as_json(found) if format == "json" else transcript.as_text(found)

    body = asyncio.run(_go())
    if out is None:
        typer.echo(body)
    else:
        out.write_text(body, encoding="utf-8")
        typer.echo(f"Wrote {out}.", err=True)


def main() -> None:
    app()
