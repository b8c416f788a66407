"""The national hub in a real browser: the overview, a library's page and a national
poll with its breakdown per library and the discussion of every copy, at phone and
desktop widths, with axe-core on each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from browsing import assert_accessible, screenshot
from harness import FakeRemote, RunningInstance, settle
from hub_helpers import cast, follow_libraries, national_poll, start_hub, start_library
from visitor_client import Visitor

from fediverse.hub.adoption import adopt

SESSION = "session"
WIDTHS = (375, 1280)


@pytest_asyncio.fixture(loop_scope=SESSION)
async def hub(tmp_path: Path) -> AsyncIterator[tuple[RunningInstance, int]]:
    """A hub and two libraries that adopted its poll, with votes on both copies and a
    comment on bieb's page; yields the hub and the national poll's id."""
    voters = await FakeRemote().start()
    running = [await start_hub(tmp_path)]
    running += [await start_library(tmp_path, name, running[0]) for name in ("bieb", "stad")]
    hub, bieb, stad = running
    try:
        await follow_libraries(hub, bieb, stad)
        poll = await national_poll(hub, introduction="Wat vindt u: zondag open?")
        url = hub.services.urls.poll(poll.id)
        copy_b, copy_s = [await adopt(lib.services, lib.username, url) for lib in (bieb, stad)]
        await bieb.services.store.set_poll_moderation(copy_b.id, "open")
        async with Visitor(bieb) as visitor:
            await visitor.comment(copy_b.id, name="Joke Lezer", text="Graag op zondag!")
        await cast(voters, bieb, copy_b.id, [("alice", "Eens"), ("bob", "Oneens")])
        await cast(voters, stad, copy_s.id, [("carol", "Eens")])
        await settle(hub, bieb, stad)
        yield hub, poll.id
    finally:
        for instance in running:
            await instance.stop()
        await voters.stop()


async def look_at(page: Any, name: str) -> None:
    """Screenshots at each width (no sideways scrolling), then axe."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 800})
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"horizontal scrolling on {name} at {width} px"
        await screenshot(page, f"{name}-{width}")
    await assert_accessible(page)
    assert page.errors == []


async def test_the_national_overview(hub, page):
    running, _ = hub
    await page.goto(f"{running.url}/national")

    assert "Bibliotheek bieb" in await page.locator("main").inner_text()
    await look_at(page, "hub-national")


async def test_a_librarys_page_at_the_hub(hub, page):
    running, _ = hub
    await page.goto(f"{running.url}/national")
    await page.get_by_role("link", name="Bibliotheek stad").first.click()

    assert "/national/libraries/" in page.url
    assert "De bibliotheek moet op zondag open." in await page.locator("main").inner_text()
    await look_at(page, "hub-library")


async def test_the_national_poll_with_its_breakdown_and_discussion(hub, page):
    running, poll_id = hub
    await page.goto(f"{running.url}/national/polls/{poll_id}")

    breakdown = await page.locator(".breakdown").inner_text()
    assert "Bibliotheek bieb" in breakdown and "Bibliotheek stad" in breakdown
    discussion = await page.locator(".discussion").inner_text()
    assert "Joke Lezer" in discussion and "Graag op zondag!" in discussion
    await look_at(page, "hub-national-poll")
