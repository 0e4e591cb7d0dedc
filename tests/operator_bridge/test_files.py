"""Reading file shares from Slack events, and where the bot token may be sent."""

from __future__ import annotations

from bot.core.media import SharedFile
from bot.core.ports import Failed
from operator_bridge.files import SlackFileFetcher, shared_files, with_file_labels


def test_file_share_event_becomes_shared_files() -> None:
    event = {"subtype": "file_share", "files": [
        {"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 10,
         "url_private": "https://files.slack.com/files-pri/T-F1/a.png",
         "url_private_download": "https://files.slack.com/files-pri/T-F1/download/a.png"},
        {"id": "F2", "name": "gdoc", "is_external": True, "url_private": "https://docs.google.com/x"},
        {"id": "F3", "file_access": "check_file_info"},
    ]}
    assert shared_files(event) == (
        SharedFile("https://files.slack.com/files-pri/T-F1/download/a.png", "a.png", "image/png", 10),)
    assert shared_files({"text": "no files"}) == ()
    assert with_file_labels("see this", shared_files(event)) == "[📎 a.png] see this"
    assert with_file_labels("plain", ()) == "plain"


async def test_the_token_goes_only_to_slack_file_hosts() -> None:
    fetch = SlackFileFetcher("xoxb-secret")
    result = await fetch("https://evil.example.com/files-pri/T-F1/download/a.png")
    assert isinstance(result, Failed) and "not a Slack file address" in result.reason
    sandbox = SlackFileFetcher.for_api("xoxb-secret", "http://127.0.0.1:8090/api/")
    assert sandbox.hosts == {"files.slack.com", "127.0.0.1:8090"}
    assert SlackFileFetcher.for_api("xoxb-secret", "https://slack.com/api/").hosts == {"files.slack.com"}
