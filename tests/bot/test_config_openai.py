"""`[agent] backend = "openai"`: its settings, their defaults, and the errors people get."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.agent.llm import OpenAIAgent
from bot.agent.registry import AgentConfigError, build_agent
from bot.cli import app
from bot.config import AgentSettings, ConfigError, load_settings

CONFIG = """
[telegram]
token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
[slack]
bot_token = "xoxb-1-2-abc"
app_token = "xapp-1-A1-abc"
channel = "C0123ABCD"
[agent]
backend = "openai"
knowledge_base = "kb.md"
{extra}
"""


def write(tmp_path: Path, extra: str = 'model = "llama3.1"') -> Path:
    (tmp_path / "kb.md").write_text("## Opening hours?\nNine to five.\n")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(extra=extra))
    return path


def test_defaults_and_the_key_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), env={"OPENAI_API_KEY": "sk-from-env"}).agent
    assert settings.base_url == "https://api.openai.com/v1" and settings.model == "llama3.1"
    assert settings.api_key == "sk-from-env"
    assert (settings.temperature, settings.max_context_passages, settings.system_prompt) == (0.2, 3, None)


def test_a_local_server_needs_no_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "llama3.1"\nbase_url = "http://localhost:11434/v1/"\napi_key = ""')
    settings = load_settings(path, env={}).agent
    assert settings.base_url == "http://localhost:11434/v1" and settings.api_key is None


@pytest.mark.parametrize(("extra", "problem"), [
    ("", 'agent.model: is required for backend = "openai"'),
    ('model = "llama3.1"\nbase_url = "localhost:11434"', "agent.base_url: must be the server's http(s) address"),
    ('model = "llama3.1"\napi_key = "changeme"', "agent.api_key: is a placeholder"),
    ('model = "llama3.1"\ntemprature = 0.5', "agent.temprature: is not a known setting"),
    ('model = "llama3.1"\ntemperature = 3', "agent.temperature: "),
])
def test_problems_are_named_with_their_key(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, extra), env={})
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_the_model_is_only_required_for_this_backend() -> None:
    assert AgentSettings().model is None


def test_the_registry_builds_it_and_reports_a_missing_knowledge_base(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'model = "llama3.1"\nsystem_prompt = "Be Bob."'), env={}).agent
    agent = build_agent(settings)
    assert isinstance(agent, OpenAIAgent)
    assert agent.model == "llama3.1" and agent.system_prompt == "Be Bob." and agent.timeout == 30
    (tmp_path / "kb.md").unlink()
    with pytest.raises(AgentConfigError, match=r"agent\.knowledge_base"):
        build_agent(settings)


def test_check_config_accepts_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check-config", "--offline", "--config", str(write(tmp_path))],
                                env={"OPENAI_API_KEY": ""})
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
