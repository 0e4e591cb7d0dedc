"""The compose file (which no Docker engine here can run) at least says what it must."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())


def test_compose_runs_two_batons_from_the_dockerfile_with_postgres_and_a_proxy() -> None:
    services = _compose()["services"]
    batons = {name: s for name, s in services.items() if s.get("build")}
    assert len(batons) == 2
    for service in batons.values():
        assert (ROOT / "deploy" / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == \
            ROOT / "Dockerfile"
        assert service["environment"]["BATON_STORAGE_URL"].startswith("postgresql+asyncpg://")
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:")
    assert set(services["proxy"]["depends_on"]) == set(batons)
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "/slack/events" in caddy and "/telegram/webhook" in caddy
    assert all(f"{name}:8080" in caddy for name in batons)


def test_dockerfile_is_slim_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "\nUSER baton" in text and "HEALTHCHECK" in text and "/healthz" in text
    assert '"run", "--config", "/config/config.toml"' in text


def test_the_example_deploy_config_is_valid() -> None:
    from bot.config import load_settings

    settings = load_settings(ROOT / "deploy" / "config" / "config.toml", env={
        "TELEGRAM_BOT_TOKEN": "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ",
        "TELEGRAM_WEBHOOK_SECRET": "a-long-random-string", "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_SIGNING_SECRET": "abc", "BATON_STORAGE_URL": "postgresql+asyncpg://baton:pw@postgres/baton"})
    assert (settings.telegram.mode, settings.slack.mode) == ("webhook", "http")
