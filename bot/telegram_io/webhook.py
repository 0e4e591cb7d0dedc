"""The Telegram webhook endpoint: secret token checked, update committed, then 200."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Bot, Update

from bot.telegram_io.inbound import TelegramInbound

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_handler(bot: Bot, inbound: TelegramInbound, secret: str):  # type: ignore[no-untyped-def]
    expected = secret.encode()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: rejected a request with a missing or wrong secret token")
            return web.json_response({"ok": False, "error": "invalid secret token"}, status=403)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an Update object")
            update = Update.de_json(data, bot)
            if update is None:
                raise ValueError("not an Update")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            log.warning("telegram webhook: malformed update (%s)", exc)
            return web.json_response({"ok": False, "error": "malformed update"}, status=400)
        try:
            await inbound.handle_update(update)
        except (OperationalError, DBAPIError, OSError):
            # Telegram delivers again on a non-2xx: nothing is lost while the database is away.
            log.exception("update %s: storage unavailable; asking Telegram to retry", update.update_id)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        except Exception:
            log.exception("update %s: failed to handle; skipping it", update.update_id)
        return web.json_response({"ok": True})

    return handle
