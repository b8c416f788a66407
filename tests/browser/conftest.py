"""Browser tests: Debian's Chromium, driven by Playwright, against a real instance.

One Chromium per test session (starting it costs a second); each test gets a
fresh browser context (its own cookies) and its own instance served by hypercorn
on 127.0.0.1 with its own SQLite file, exactly as `tests/harness.py` serves the
federation tests. Browser tests run on one session-wide event loop (the
browser's), so they use these fixtures (`live`, `page`, `browser`), not the
function-scoped `instance` of `tests/conftest.py`.

Without /usr/bin/chromium the tests are skipped locally with the reason, and fail
when `CI` is set: CI must never pass by skipping them (`.ci/run` installs it).

Helpers (`browsing.py`): `screenshot(page, name)` keeps a PNG in `test-artifacts/screenshots/`
(gitignored) for people to look at; `assert_accessible(page)` runs axe-core in the
page and fails on serious or critical violations.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from harness import RunningInstance, start_instance

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BROWSER_DIR = Path(__file__).resolve().parent
SESSION = "session"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every async test in this folder runs on the session loop the browser lives on."""
    marker = pytest.mark.asyncio(loop_scope=SESSION)
    for item in items:
        if BROWSER_DIR in Path(str(item.fspath)).parents and pytest_asyncio.is_async_test(item):
            item.add_marker(marker, append=False)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest_asyncio.fixture(scope=SESSION, loop_scope=SESSION)
async def browser() -> AsyncIterator[Any]:
    """The one headless Chromium of the session."""
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope=SESSION)
async def live(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    """A demo-mode library instance (@bieb) on loopback; workers driven by the test."""
    running = await start_instance(tmp_path)
    yield running
    await running.stop()


@pytest_asyncio.fixture(loop_scope=SESSION)
async def context(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser profile per test (cookies, storage), Dutch like most visitors."""
    made = await browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope=SESSION)
async def page(context: Any) -> AsyncIterator[Any]:
    """A tab that records JavaScript errors, CSP violations and failed loads in
    `page.errors` (except the favicon the browser asks for on its own)."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text)
              if message.type == "error" and not _is_favicon(message) else None)
    opened.errors = errors
    yield opened
    await opened.close()


def _is_favicon(message: Any) -> bool:
    return str(message.location.get("url", "")).endswith("/favicon.ico")
