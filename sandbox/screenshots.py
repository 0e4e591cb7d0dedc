"""The README's pictures of the playground, taken from the running sandboxes so they stay true.

    python -m sandbox.screenshots docs/screenshots      (or: make screenshots)

Starts the playground as `make run` does, plays the demo's conversation and a few more steps, and
photographs both pages in the system's Chromium (Playwright for Python, from the dev extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


def chromium_path() -> str | None:
    """The system's Chromium (Debian's `chromium`), or the one `BATON_CHROMIUM` names."""
    for candidate in (os.environ.get("BATON_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _small_png(data: bytes) -> bytes:
    """256 colours are plenty for a page: a third of the size in the repository."""
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256).save(out, "PNG", optimize=True)
    return out.getvalue()


async def _shoot(page: Any, path: Path) -> None:
    data = _small_png(await page.screenshot())
    await asyncio.to_thread(path.write_bytes, data)
    print(f"wrote {path}")


async def take(out: Path) -> None:
    from playwright.async_api import async_playwright, expect

    from bot.demo import ADA, CHANNEL, OLIVIA, OMAR, Demo, play, start_playground

    path = chromium_path()
    if path is None:
        sys.exit("No Chromium found: install Debian's `chromium` (or set BATON_CHROMIUM).")
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    tg, slack, baton = await start_playground(0, Path(tempfile.mkdtemp(prefix="baton-shots-")))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            await play(Demo(tg, slack))
        root = slack.messages(CHANNEL)[0]["ts"]
        await slack.user_posts(OMAR, CHANNEL, "I can look into the wrapping paper colours", thread_ts=root)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            context = await browser.new_context(viewport={"width": 1200, "height": 760}, timezone_id="Europe/Berlin")
            page = await context.new_page()

            await page.goto(f"{slack.url}?as={OMAR}&thread={root}")
            await expect(page.locator("#thread .ephemeral")).to_contain_text("Take over and send")
            await page.locator("#thread").evaluate("el => el.scrollTop = el.scrollHeight")
            await _shoot(page, out / "slack-thread.png")

            await page.goto(f"{slack.url}?as={ADA}")
            await page.get_by_label("Message the channel").fill("/baton campaign new")
            await page.get_by_label("Message the channel").press("Enter")
            await page.get_by_role("dialog").get_by_label("Message").fill("*Spring sale*: 20% off this week")
            await _shoot(page, out / "slack-campaign-modal.png")

            await page.goto(f"{slack.url}?as={OLIVIA}&tab=home")
            await expect(page.locator("#main .home .sk-header")).to_be_visible()
            await _shoot(page, out / "slack-app-home.png")

            await slack.click_button(OLIVIA, CHANNEL, root, "resolve")
            await page.goto(f"{tg.url}/?chat=4242")
            await expect(page.locator(".kb-btn").first).to_be_visible()
            await _shoot(page, out / "telegram.png")
            await browser.close()
    finally:
        await baton.stop()
        await slack.stop()
        await tg.stop()


async def main(out: Path) -> None:
    from bot.demo import quiet_libraries

    with quiet_libraries():
        await take(out)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
