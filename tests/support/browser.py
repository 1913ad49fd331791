"""The web page's tests in Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def chromium() -> str:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run infra/scripts/ensure-browser.sh "
            "(apt-get install chromium chromium-driver) before the web page tests."
        )
    return str(CHROMIUM)


@asynccontextmanager
async def browser_page() -> AsyncIterator[Any]:
    """A fresh Chromium's page. What the page throws, and anything its Content-Security-Policy refuses
    (inline script, a handler attribute), fails the test once the block is done."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    problems.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )
            yield page
            assert problems == [], problems
        finally:
            await browser.close()


async def signed_in(page: Any) -> None:
    """Until the page has signed in with the development token (as `make run` serves it)."""
    await page.wait_for_function(
        "() => (document.getElementById('account-status') || {}).textContent?.startsWith('Signed in')"
    )
