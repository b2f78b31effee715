"""A real browser for tests: Debian's Chromium, headless, driven by Playwright, 128 pixels wide.

The WAP pages must work on a 128-pixel-wide phone without JavaScript or CSS; the only honest
check of "no horizontal scrolling" is a browser laying the page out. Playwright drives the
Chromium that `.ci/ensure-packages` installs from Debian (`/usr/bin/chromium`, or
`AIRCHARGE_TEST_CHROMIUM`): `executable_path` points at it, so Playwright's own browser
download (`playwright install`) is never needed and never run. As root, Chromium runs only
with `--no-sandbox`. Where Chromium is missing the tests that use it are skipped on a
developer machine and fail under CI=true, like PostgreSQL's.

The fixture is registered for every test by `tests/conftest.py` (`pytest_plugins`):

    from playwright.async_api import Page
    from tests.browser import horizontal_overflow_px

    async def test_page_fits(browser_page: Page, aiohttp_server) -> None:
        server = await aiohttp_server(app)              # loopback, port 0
        await browser_page.goto(str(server.make_url("/wap/")))
        assert await horizontal_overflow_px(browser_page) == 0

Each test gets its own browser (about a second to start), so no cookie or page state leaks
between tests; the project's pytest-asyncio runs in auto mode with a loop per test, and the
Playwright objects live and die on that loop. JavaScript stays enabled in the browser: a test
that shows hostile text proves no script ran, which it could not with scripts switched off.

Chromium renders XHTML-MP only when it is served as `application/xhtml+xml` (or HTML): for
`application/vnd.wap.xhtml+xml`, the type WAP 2.0 browsers ask for, it starts a download.
Chromium's `Accept` names `application/xhtml+xml` and not the WAP type, so a channel that
answers by `Accept` gives each browser a type it renders (see tests/dialogs/test_wap_browser.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright

CHROMIUM_PATH: Final = Path(os.environ.get("AIRCHARGE_TEST_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT: Final = ViewportSize(width=128, height=160)  # a feature phone's screen, in CSS pixels
action_timeout_ms: Final = 15_000  # a page on loopback; generous for a loaded 2-core machine


def require_chromium() -> None:
    if CHROMIUM_PATH.is_file() and os.access(CHROMIUM_PATH, os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is required in CI and is not at {CHROMIUM_PATH}")
    pytest.skip(f"Chromium is not at {CHROMIUM_PATH} (.ci/ensure-packages installs it)")


def launch_args() -> list[str]:
    # Chromium's sandbox refuses to start as root; CI and the dev machines run as root.
    return ["--no-sandbox"] if os.geteuid() == 0 else []


@pytest.fixture
async def browser_page() -> AsyncIterator[Page]:
    """A blank page in a fresh headless Chromium with a 128x160 viewport."""
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=launch_args(), headless=True
        )
        try:
            context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = await context.new_page()
            page.set_default_timeout(action_timeout_ms)
            yield page
        finally:
            await browser.close()


async def horizontal_overflow_px(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert isinstance(overflow, int)
    return overflow
