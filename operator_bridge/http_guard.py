"""HTTP mode: what reaches Bolt from `/slack/events` is signed and parses as a Slack payload.

Bolt parses the body before it checks anything and its dispatcher assumes an object, so junk (`{not json`,
`[]`, bytes that are not UTF-8, a non-numeric timestamp header) used to end in a 500 and a logged traceback.
Here the signature is checked on the raw bytes first (401) and a signed body that is not a Slack payload
gets a 400; neither is worth more than one quiet log line."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def signed(verifier: SignatureVerifier, raw: bytes, request: web.Request) -> bool:
    try:
        return verifier.is_valid(raw, request.headers.get("X-Slack-Request-Timestamp"),
                                 request.headers.get("X-Slack-Signature"))
    except (ValueError, TypeError, OverflowError):  # a timestamp that is not a number
        return False


async def bolt_request(verifier: SignatureVerifier, request: web.Request) -> AsyncBoltRequest | web.Response:
    """The request for Bolt, or the answer to give instead."""
    raw = await request.read()
    if not signed(verifier, raw, request):
        log.info("slack events: refused a request without a valid signature (%d bytes)", len(raw))
        return web.Response(status=401, text="invalid signature")
    try:
        text = raw.decode("utf-8")
        # Bolt's own parser, run once here so that a body that is not an object never reaches Bolt.
        if not isinstance(parse_body(text, request.content_type), dict):
            raise ValueError("not an object")
        return AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, not an object, or nested beyond reason
        log.info("slack events: refused a malformed body (%s)", type(exc).__name__)
        return web.Response(status=400, text="malformed body")
