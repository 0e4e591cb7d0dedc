"""`baton check-config` and friends: clear answers, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

GOOD = """
[telegram]
token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
[slack]
bot_token = "xoxb-1-2-abc"
app_token = "xapp-1-A1-abc"
channel = "C0123ABCD"
[agent]
knowledge_base = "kb.md"
[access]
operators = ["U0OLIVIA1"]
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_valid_config_is_confirmed(tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_text("## Hours?\nNine to five.\n")
    (tmp_path / "config.toml").write_text(GOOD)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 0, out
    assert "is valid" in out and "socket mode" in out


def test_each_problem_is_named_with_its_key(tmp_path: Path) -> None:
    bad = GOOD.replace('"C0123ABCD"', '"#support"').replace('"xoxb-1-2-abc"', '"xoxb-replace-me"')
    bad = bad.replace('token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"', 'token = "changeme"')
    bad = bad.replace('[agent]', '[agent]\nbakend = "faq"')
    (tmp_path / "config.toml").write_text(bad)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2
    assert "telegram.token: is missing or a placeholder" in out
    assert "slack.channel: '#support' is not a channel id" in out
    assert "agent.bakend: is not a known setting" in out
    assert "Traceback" not in out


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[telegram\ntoken = 1")
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2 and "not valid TOML" in out and "Traceback" not in out
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "cannot read the file" in out


def test_an_unreadable_knowledge_base_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(GOOD)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2
    assert "kb.md" in out and "Traceback" not in out


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: object) -> None:
    from bot.config import load_settings

    (tmp_path / "config.toml").write_text(GOOD.replace('bot_token = "xoxb-1-2-abc"\n', ""))
    settings = load_settings(tmp_path / "config.toml", env={"SLACK_BOT_TOKEN": "xoxb-from-env"})
    assert settings.slack.bot_token == "xoxb-from-env"
    assert settings.agent.knowledge_base == tmp_path / "kb.md"


def test_the_example_config_is_refused_until_filled_in(tmp_path: Path) -> None:
    example = (Path(__file__).parents[2] / "config.example.toml").read_text()
    (tmp_path / "config.toml").write_text(example)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2
    assert "telegram.token: is missing or a placeholder" in out
    assert "slack.bot_token: must be the bot token" in out
    assert "slack.app_token: must be an app-level token" in out
    filled = (example.replace("123456789:replace-with-the-token-from-BotFather", "123456789:AAHdqTcvCH1vGWJxfSeofSA")
              .replace("xoxb-replace-me", "xoxb-1-2-real").replace("xapp-replace-me", "xapp-1-A1-real"))
    (tmp_path / "config.toml").write_text(filled)
    (tmp_path / "knowledge.md").write_text("## Hours?\nNine to five.\n")
    # The example's ids look real; they are refused too, each named.
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 2
    assert "slack.channel: 'C0123456789' is the placeholder from config.example.toml" in out
    assert "access.operators: 'U0123ABCD' is the placeholder" in out and "access.admins: 'U0123ABCD'" in out
    filled = filled.replace("C0123456789", "C0SUPPORT1").replace("U0123ABCD", "U0OLIVIA1")
    (tmp_path / "config.toml").write_text(filled)
    code, out = run("check-config", "--offline", "--config", str(tmp_path / "config.toml"))
    assert code == 0, out


def test_texts_per_language_fall_back_to_english() -> None:
    from bot.config import TextSettings

    texts = TextSettings.model_validate({"greeting": "Hi {first_name}!",
                                         "de": {"greeting": "Hallo {first_name}!"},
                                         "pt": {"resolved": "Conversa encerrada."}})
    assert texts.get("greeting", "de") == "Hallo {first_name}!"
    assert texts.get("greeting", "DE") == "Hallo {first_name}!"
    assert texts.get("resolved", "pt-br") == "Conversa encerrada."
    assert texts.get("greeting", "pt-br") == "Hi {first_name}!"
    assert texts.get("greeting", None) == "Hi {first_name}!"


def test_kb_test_shows_matches_and_scores(tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_text("## How long does shipping take? | delivery time\n2-3 days.\n\n"
                                    "## How do I reset my password?\nUse the link.\n")
    (tmp_path / "config.toml").write_text(GOOD)
    code, out = run("kb", "test", "how long does shiping take", "--config", str(tmp_path / "config.toml"))
    assert code == 0, out
    read_as, *lines = out.strip().splitlines()
    assert read_as == "read as: how long does shipping take"  # the typo put right toward the file's words
    assert lines[0] == "meaning  question  words  entry"
    assert lines[1].endswith("How long does shipping take?") and lines[2].endswith("How do I reset my password?")
    meaning, question, words = (float(x) for x in lines[1].split()[:3])
    assert meaning > float(lines[2].split()[0]) and question > float(lines[2].split()[1]) and words == 1.0
    assert lines[3].endswith("the question alone agrees: yes")
    assert lines[-1].startswith("decision: answers with How long does shipping take?")


def test_the_demo_says_what_to_do_when_its_port_is_taken() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = run("demo", "--port", str(port))
    assert code == 2
    assert f"Cannot start the sandboxes on port {port}" in out and "--port 0" in out
    assert "Traceback" not in out
