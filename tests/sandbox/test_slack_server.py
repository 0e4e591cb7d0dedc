"""FakeSlack against the real slack_sdk AsyncWebClient and real slack_bolt AsyncApp (socket + HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_server import FakeSlack

CH = "C0SUPPORT"
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Customer <b>Ann</b> needs help"}},
    {"type": "actions", "block_id": "acts", "elements": [
        {"type": "button", "action_id": "claim", "value": "conv-1",
         "text": {"type": "plain_text", "text": "Claim"}},
    ]},
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user("U0ALICE", "alice", real_name="Alice Operator", is_admin=True)
    fake.add_user("U0BOB", "bob")
    fake.add_channel(CH, "support")
    fake.add_usergroup("S0OPS", "operators", ["U0ALICE", "U0BOB"])
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def web_client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


def bolt_app(slack: FakeSlack, seen: list[tuple[str, Any]], **kwargs: Any) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
                   signing_secret=slack.signing_secret, **kwargs)

    @app.event("message")
    async def on_message(event: dict, context: Any) -> None:
        seen.append(("message", event))

    @app.action("claim")
    async def on_claim(ack: Any, body: dict, respond: Any) -> None:
        await ack()
        seen.append(("claim", body))
        await respond(replace_original=True, text="Claimed by <@" + body["user"]["id"] + ">")

    @app.event("app_home_opened")
    async def on_home(event: dict, client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": BUTTONS[:1]})

    @app.shortcut("escalate")
    async def on_shortcut(ack: Any, shortcut: dict) -> None:
        await ack()
        seen.append(("shortcut", shortcut))

    @app.command("/baton")
    async def on_command(ack: Any, command: dict) -> None:
        await ack(f"status for {command['text']}")
        seen.append(("command", command))

    return app


async def test_auth_and_tokens(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    auth = await web_client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BATONBOT", "B0BATON", "T0BATON")
    with pytest.raises(SlackApiError) as bad:
        await AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as wrong_type:
        await web_client.apps_connections_open(app_token=slack.bot_token)
    assert wrong_type.value.response["error"] == "not_allowed_token_type"
    opened = await web_client.apps_connections_open(app_token=slack.app_token)
    assert opened["url"].startswith(slack.url.replace("http", "ws") + "link/?ticket=")
    assert slack.calls[0] == ("auth.test", {})


async def test_post_thread_update_and_lookups(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    parent = await web_client.chat_postMessage(channel=CH, text="new ticket", blocks=BUTTONS,
                                               username="Ann (Telegram)", metadata={
                                                   "event_type": "baton_ticket", "event_payload": {"id": 1}})
    reply = await web_client.chat_postMessage(channel=CH, text="first reply", thread_ts=parent["ts"])
    await slack.user_posts("U0ALICE", CH, "on it", thread_ts=parent["ts"])
    assert float(reply["ts"]) > float(parent["ts"])
    replies = await web_client.conversations_replies(channel=CH, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["new ticket", "first reply", "on it"]
    assert replies["has_more"] is False
    top = slack.message(CH, parent["ts"])
    assert top["reply_count"] == 2 and top["latest_reply"] == slack.thread(CH, parent["ts"])[-1]["ts"]
    assert top["username"] == "Ann (Telegram)" and top["metadata"]["event_type"] == "baton_ticket"
    assert top["blocks"][0]["block_id"]  # Slack fills in missing block ids
    assert [m["text"] for m in slack.messages(CH)] == ["new ticket"]

    await web_client.chat_update(channel=CH, ts=parent["ts"], text="ticket (claimed)")
    assert slack.message(CH, parent["ts"])["edited"]["user"] == "U0BATONBOT"
    user_ts = slack.thread(CH, parent["ts"])[-1]["ts"]
    for kwargs, error in [({"ts": user_ts, "text": "x"}, "cant_update_message"),
                          ({"ts": "1.000001", "text": "x"}, "message_not_found"),
                          ({"ts": parent["ts"], "text": "x" * 4001}, "msg_too_long")]:
        with pytest.raises(SlackApiError) as err:
            await web_client.chat_update(channel=CH, **kwargs)
        assert err.value.response["error"] == error

    link = await web_client.chat_getPermalink(channel=CH, message_ts=parent["ts"])
    assert link["permalink"] == f"https://sandbox.slack.local/archives/{CH}/p{parent['ts'].replace('.', '')}"
    reply_link = await web_client.chat_getPermalink(channel=CH, message_ts=reply["ts"])
    assert reply_link["permalink"].endswith(f"?thread_ts={parent['ts']}&cid={CH}")

    user = await web_client.users_info(user="U0ALICE")
    assert user["user"]["profile"]["display_name"] == "alice" and user["user"]["is_admin"] is True
    assert (await web_client.usergroups_users_list(usergroup="S0OPS"))["users"] == ["U0ALICE", "U0BOB"]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web_client.users_info(user="U0NOBODY")
    await web_client.reactions_add(channel=CH, timestamp=parent["ts"], name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await web_client.reactions_add(channel=CH, timestamp=parent["ts"], name="eyes")
    assert slack.reactions[(CH, parent["ts"])] == ["eyes"]


async def test_errors_ephemeral_and_limits(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(channel="C0MISSING", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await web_client.chat_postMessage(channel=CH, text="x", blocks=[{"type": "divider"}] * 51)

    eph = await web_client.chat_postEphemeral(channel=CH, user="U0BOB", text="only you", blocks=BUTTONS)
    assert slack.ephemerals[0].message_ts == eph["message_ts"] and slack.ephemerals[0].user == "U0BOB"

    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await web_client.chat_postMessage(channel=CH, text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"

    slack.fail_next("users.info", error="fatal_error")
    with pytest.raises(SlackApiError, match="fatal_error"):
        await web_client.users_info(user="U0BOB")
    slack.drop_next("auth.test")
    with pytest.raises(aiohttp.ClientError):
        await web_client.auth_test()
    assert (await web_client.auth_test())["ok"]

    slack.per_channel_post_limit = 1.0
    slack.post_burst = 2
    await web_client.chat_postMessage(channel=CH, text="1")
    await web_client.chat_postMessage(channel=CH, text="2")
    with pytest.raises(SlackApiError, match="ratelimited"):
        await web_client.chat_postMessage(channel=CH, text="3")
    assert [m for m, _ in slack.calls].count("chat.postMessage") == 6  # failures are recorded too



async def test_hold_keeps_a_call_unanswered_until_released(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    slack.hold("chat.postMessage")
    call = asyncio.ensure_future(web_client.chat_postMessage(channel=CH, text="slow"))
    await slack.wait_for(lambda: any(e.get("held") for e in slack.call_log), what="the held call")
    assert not call.done() and slack.messages(CH) == []
    slack.release("chat.postMessage")
    assert (await call)["ok"] and [m["text"] for m in slack.messages(CH)] == ["slow"]

async def test_files_upload_v2_and_home(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    parent = await web_client.chat_postMessage(channel=CH, text="ticket")
    done = await web_client.files_upload_v2(channel=CH, thread_ts=parent["ts"], content=b"\x89PNG data",
                                            filename="photo.png", title="Customer photo",
                                            initial_comment="photo")
    upload = slack.uploads[0]
    assert done["file"]["id"] == upload["id"]
    assert upload["bytes"] == b"\x89PNG data"
    assert (upload["filename"], upload["title"]) == ("photo.png", "Customer photo")
    assert (upload["channel"], upload["thread_ts"]) == (CH, parent["ts"])
    shared = slack.thread(CH, parent["ts"])[0]
    assert shared["subtype"] == "file_share" and shared["files"][0]["name"] == "photo.png"

    await web_client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": BUTTONS})
    assert slack.home_views["U0ALICE"]["blocks"][0]["text"]["text"].startswith("Customer")
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        too_big = {"type": "home", "blocks": [{"type": "divider"}] * 101}
        await web_client.views_publish(user_id="U0ALICE", view=too_big)


async def test_bolt_socket_mode(slack: FakeSlack) -> None:
    seen: list[tuple[str, Any]] = []
    app = bolt_app(slack, seen)
    handler = AsyncSocketModeHandler(app, slack.app_token)
    await handler.connect_async()
    try:
        await slack.wait_for(lambda: slack.socket_connections == 1, what="socket connect")
        msg = await slack.user_posts("U0ALICE", CH, "hello bot")
        events = await slack.wait_for(lambda: [e for k, e in seen if k == "message"], what="message event")
        event = events[0]
        assert (event["user"], event["text"], event["ts"]) == ("U0ALICE", "hello bot", msg["ts"])
        assert event["channel_type"] == "channel" and event["client_msg_id"]

        posted = await app.client.chat_postMessage(channel=CH, text="ticket", blocks=BUTTONS)
        def bot_echoes() -> list[dict]:
            events = [d for d in slack.deliveries if d["payload"].get("event", {}).get("bot_id")]
            return [d for d in events if d["response"]]

        echo = await slack.wait_for(bot_echoes, what="bot echo acked")
        assert echo[0]["payload"]["event"]["subtype"] == "bot_message"
        assert echo[0]["response"].status == 200  # bolt acks its own echoes and ignores them
        assert all(e.get("bot_id") is None for k, e in seen if k == "message")

        with pytest.raises(LookupError, match="available: \\['claim'\\]"):
            await slack.click_button("U0BOB", CH, posted["ts"], "nope")
        clicked = await slack.click_button("U0BOB", CH, posted["ts"], "claim")
        assert clicked.status == 200
        body = next(b for k, b in seen if k == "claim")
        assert body["actions"][0] | {"action_ts": None} == {
            "action_id": "claim", "block_id": "acts", "type": "button", "value": "conv-1", "action_ts": None,
            "text": {"type": "plain_text", "text": "Claim"}}
        assert body["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": CH,
                                     "is_ephemeral": False}
        await slack.wait_for(lambda: slack.message(CH, posted["ts"])["text"].startswith("Claimed"),
                             what="replace_original via response_url")
        assert slack.responses[0]["replace_original"] is True

        resp = await slack.slash_command("U0ALICE", "/baton", "queue", channel=CH)
        assert resp.status == 200 and resp.body == {"text": "status for queue"}
        assert slack.ephemerals[-1].text == "status for queue" and slack.ephemerals[-1].user == "U0ALICE"

        await app.client.chat_postEphemeral(channel=CH, user="U0BOB", text="pick", blocks=BUTTONS)
        eph = slack.ephemerals[-1]
        assert (await slack.click_ephemeral_button("U0BOB", eph, "claim")).status == 200
        await slack.wait_for(lambda: eph.text.startswith("Claimed"), what="ephemeral replaced")
        assert [b for k, b in seen if k == "claim"][-1]["container"]["is_ephemeral"] is True
        await slack.user_edits("U0ALICE", CH, msg["ts"], "hello bot (edited)")
        await slack.user_deletes("U0ALICE", CH, msg["ts"])
        subtypes = [e.get("subtype") for k, e in seen if k == "message"]
        assert subtypes[-2:] == ["message_changed", "message_deleted"]
        assert (await slack.message_shortcut("U0BOB", "escalate", CH, posted["ts"])).status == 200
        shortcut = next(s for k, s in seen if k == "shortcut")
        assert shortcut["type"] == "message_action" and shortcut["message"]["ts"] == posted["ts"]

        await slack.disconnect_sockets()
        await slack.wait_for(lambda: slack.socket_connections == 1 and slack.socket_connects == 2,
                             what="reconnect")
        await slack.user_posts("U0BOB", CH, "after reconnect")
        await slack.wait_for(lambda: any(e.get("text") == "after reconnect" for _, e in seen), what="event")
    finally:
        await handler.close_async()
    await slack.wait_for(lambda: slack.socket_connections == 0, what="socket closed")


@pytest.fixture
async def http_app(slack: FakeSlack) -> AsyncIterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    app = bolt_app(slack, seen)

    @app.middleware
    async def record_retries(request: Any, next: Any) -> Any:
        seen.append(("retry", request.headers.get("x-slack-retry-num", [None])[0]))
        return await next()

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    slack.events_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield seen
    await runner.cleanup()


async def test_bolt_http_mode(slack: FakeSlack, http_app: list[tuple[str, Any]]) -> None:
    seen = http_app
    msg = await slack.user_posts("U0ALICE", CH, "over http")
    event = (await slack.wait_for(lambda: [e for k, e in seen if k == "message"], what="message event"))[0]
    assert event["ts"] == msg["ts"]
    assert slack.deliveries[-1]["response"].status == 200

    redelivered = await slack.redeliver_last_event()
    assert redelivered.status == 200 and ("retry", "1") in seen

    assert (await slack.verify_url()).body["challenge"]
    assert (await slack.open_home("U0ALICE")).status == 200
    await slack.wait_for(lambda: slack.home_views.get("U0ALICE"), what="home published")
    resp = await slack.slash_command("U0BOB", "/baton", "me", channel=CH)
    # bolt answers ack("text") with text/plain over HTTP; FakeSlack reports it as Slack reads it
    assert resp.status == 200 and resp.body == {"text": "status for me"}

    body = json.dumps(slack.deliveries[0]["payload"]).encode()
    forged = slack.sign(body) | {"X-Slack-Signature": "v0=" + "0" * 64, "Content-Type": "application/json"}
    assert (await slack.send_raw(body, forged))[0] == 401
    stale = slack.sign(body, timestamp=1_600_000_000) | {"Content-Type": "application/json"}
    assert (await slack.send_raw(body, stale))[0] == 401
    assert (await slack.send_raw(body, slack.sign(body) | {"Content-Type": "application/json"}))[0] == 200


async def test_html_control_surface(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    posted = await web_client.chat_postMessage(channel=CH, text="x", blocks=BUTTONS,
                                               username="Ann <img src=x>")
    async with aiohttp.ClientSession() as http:
        async with http.get(slack.url) as r:
            page = await r.text()
        assert r.status == 200 and "Customer &lt;b&gt;Ann&lt;/b&gt;" in page and "<img" not in page
        # username overrides are shown, escaped, with Slack's APP badge
        assert 'Ann &lt;img src=x&gt; <span class="app-badge">APP</span>' in page
        assert 'data-action-id="claim"' in page and "Claim</button>" in page
        form = {"user": "U0BOB", "channel": CH, "thread_ts": posted["ts"], "text": "from the browser"}
        as_json = {"Accept": "application/json"}
        async with http.post(f"{slack.url}_sandbox/post", data=form, headers=as_json) as r:
            assert r.status == 200 and (await r.json())["thread_ts"] == posted["ts"]
        async with http.post(f"{slack.url}_sandbox/post", data=form, allow_redirects=False) as r:
            assert r.status == 303
        async with http.get(f"{slack.url}_sandbox/state") as r:
            state = await r.json()
    replies = state["channels"][0]["messages"][0]["replies"]
    assert [m["text"] for m in replies] == ["from the browser"] * 2
    assert slack.thread(CH, posted["ts"])[0]["user"] == "U0BOB"
