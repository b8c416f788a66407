"""The browser harness itself: Chromium starts, reaches the instance, runs axe."""

from __future__ import annotations

from browsing import assert_accessible, screenshot


async def test_the_start_page_loads_in_chromium_and_passes_axe(live, page):
    response = await page.goto(live.url + "/")

    assert response.status == 200
    assert await page.locator("h1").count() == 1
    await assert_accessible(page)
    assert (await screenshot(page, "start-page")).exists()
