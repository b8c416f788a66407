"""A visitor in a real browser: votes, comments, language, no JavaScript, the widget
on another site, small screens, and axe-core on every visitor page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import web
from browsing import assert_accessible, comment_on, screenshot
from test_polls_federation import new_poll

from fediverse.lifecycle import close_poll
from fediverse.polls import Opinion

SESSION = "session"


async def rich_poll(live: Any, **changes: Any) -> Any:
    return await new_poll(live, article="## Waarom\n\nBibliotheken zijn **overal**.",
                          opinions=(Opinion("An Jansen", "Directeur", "Eens: zeker."),
                                    Opinion("Piet de Vries", "Lezerspanel", "Oneens.")),
                          **changes)


async def vote_for(page: Any, option: str) -> None:
    await page.get_by_label(option, exact=True).check()
    await page.get_by_role("button", name="Stem", exact=True).click()


async def test_a_visitor_votes_sees_the_results_and_cannot_vote_again(live, page, context):
    poll = await rich_poll(live)
    await page.goto(f"{live.url}/polls/{poll.id}")
    second_tab = await context.new_page()
    await second_tab.goto(f"{live.url}/polls/{poll.id}")  # the ballot still on screen

    await vote_for(page, "Eens")
    await vote_for(second_tab, "Oneens")

    assert await page.get_by_role("status").inner_text() == "Bedankt: uw stem is geteld."
    results = await page.locator("#results").inner_text()
    assert "Eens (1 stem) 100%" in results and "1 deelnemer" in results
    assert await page.locator("#vote form").count() == 0
    assert await second_tab.get_by_role("alert").inner_text() == (
        "U hebt al gestemd in deze peiling.")
    assert (await live.services.store.tally(poll.id)).counts == (1, 0)
    assert page.errors == []


async def test_the_page_works_without_javascript(live, browser):
    poll = await rich_poll(live)
    await live.services.store.set_poll_moderation(poll.id, "open")
    context = await browser.new_context(java_script_enabled=False, locale="nl-NL")
    try:
        page = await context.new_page()
        await page.goto(f"{live.url}/polls/{poll.id}")
        await vote_for(page, "Oneens")
        await comment_on(page, "Zonder Script", "zs@example.org", "Werkt ook zo.")
        text = await page.locator("main").inner_text()
    finally:
        await context.close()

    assert "Oneens (1 stem) 100%" in text
    assert "Reacties (1)" in text and "Zonder Script" in text and "Werkt ook zo." in text
    assert "zs@example.org" not in text


async def test_a_comment_in_a_first_poll_appears_after_approval(live, page):
    poll = await rich_poll(live)  # 'first': a new author's comment waits
    store = live.services.store
    await page.goto(f"{live.url}/polls/{poll.id}")

    await comment_on(page, "Ria", "ria@example.org", "Graag ook 's avonds open.\nEn op zondag.")
    waiting = await page.locator("#comments").inner_text()
    [pending] = await store.replies(poll.id, "pending")
    await store.set_reply_state(pending.id, "visible")
    await page.reload()
    shown = page.locator("#comments article.reply")

    assert "Reacties (0)" in waiting and "Ria" not in waiting
    assert await page.get_by_role("heading", name="Reacties (1)").count() == 1
    assert "Ria" in await shown.inner_text()
    assert await shown.locator(".content br").count() == 1  # the line break survives


async def test_a_comment_in_an_open_poll_appears_at_once(live, page):
    poll = await rich_poll(live)
    await live.services.store.set_poll_moderation(poll.id, "open")
    await page.goto(f"{live.url}/polls/{poll.id}")

    await comment_on(page, "Kees <b>", "kees@example.org", "<script>alert(1)</script>")

    reply = page.locator("#comments article.reply")
    assert "Kees <b>" in await reply.inner_text()
    assert "<script>alert(1)</script>" in await reply.locator(".content").inner_text()
    assert page.errors == []


async def test_a_refused_comment_keeps_what_was_typed(live, page):
    poll = await rich_poll(live)
    await page.goto(f"{live.url}/polls/{poll.id}")

    # a name of spaces: the browser lets it through, we do not
    await comment_on(page, "   ", "ria@example.org", "Een lange reactie.\nMet twee regels.")

    assert await page.get_by_role("alert").inner_text() == (
        "Vul een naam in van hoogstens 80 tekens.")
    assert await page.get_by_label("Reactie", exact=True).input_value() == (
        "Een lange reactie.\nMet twee regels.")
    assert await page.evaluate("location.hash") == "#comment-form-title"
    assert await live.services.store.replies(poll.id, "pending") == []
    assert [e for e in page.errors if "status of 422" not in e] == []  # Chromium logs the 422


async def test_the_language_switch_turns_the_page_english_and_stays(live, page):
    poll = await rich_poll(live)
    await page.goto(f"{live.url}/polls/{poll.id}")

    await page.get_by_role("link", name="English").click()
    await page.goto(f"{live.url}/polls/{poll.id}")

    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.get_by_role("heading", name="Your vote").count() == 1
    assert await page.get_by_role("button", name="Vote", exact=True).count() == 1


async def test_the_poll_page_fits_small_and_large_screens_and_passes_axe(live, page):
    poll = await rich_poll(live)
    await live.services.store.set_poll_moderation(poll.id, "open")
    await page.goto(f"{live.url}/polls/{poll.id}")
    await vote_for(page, "Eens")
    await comment_on(page, "Lezer", "lezer@example.org", "Een reactie om te zien hoe het staat.")

    for width in (320, 375, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"horizontal scrolling at {width} px"
        if width != 320:
            await screenshot(page, f"poll-page-{width}")
    await assert_accessible(page)


async def test_keyboard_focus_is_visible(live, page):
    poll = await rich_poll(live)
    await page.goto(f"{live.url}/polls/{poll.id}")

    await page.get_by_label("Eens", exact=True).focus()
    await page.keyboard.press("Tab")
    outline = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()")

    assert outline[1] != "none" and outline[2] != "0px", outline


async def test_the_index_and_a_closed_poll_pass_axe(live, page):
    open_poll = await rich_poll(live)
    closed = await rich_poll(live)
    await close_poll(live.services, closed.id)

    await page.goto(f"{live.url}/@bieb/polls")
    await assert_accessible(page)
    await screenshot(page, "polls-index")
    await page.get_by_role("link", name=closed.question).last.click()
    text = await page.locator("main").inner_text()
    await assert_accessible(page)

    assert "Deze peiling is gesloten op" in text and "Uitslag (gesloten)" in text
    assert await page.locator("#vote form").count() == 0
    assert page.url == f"{live.url}/polls/{closed.id}" != f"{live.url}/polls/{open_poll.id}"


@pytest_asyncio.fixture(loop_scope=SESSION)
async def library_site() -> AsyncIterator[dict[str, Any]]:
    """A library's own website on another origin (localhost), where pages frame ours."""
    pages: dict[str, str] = {}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=pages.get(request.path, ""), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield {"pages": pages, "base": f"http://localhost:{runner.addresses[0][1]}"}
    await runner.cleanup()


async def test_the_widget_works_on_another_site_and_votes_in_a_new_tab(
        live, page, context, library_site):
    poll = await rich_poll(live)
    library_site["pages"]["/widget"] = (
        '<!doctype html><html lang="nl"><title>Bieb</title><h1>Onze bieb</h1>'
        f'<iframe src="{live.url}/polls/{poll.id}/embed" title="Peiling"'
        ' width="400" height="520"></iframe>')
    library_site["pages"]["/framed"] = (
        f'<!doctype html><iframe src="{live.url}/polls/{poll.id}" title="x"></iframe>')

    await page.goto(f"{library_site['base']}/widget")
    widget = page.frame_locator("iframe")
    await widget.get_by_label("Oneens", exact=True).check()
    async with context.expect_page() as opened:
        await widget.get_by_role("button", name="Stem op de pagina van de bibliotheek").click()
    poll_tab = await opened.value
    await poll_tab.wait_for_load_state()
    preselected = await poll_tab.get_by_label("Oneens", exact=True).is_checked()
    await poll_tab.get_by_role("button", name="Stem", exact=True).click()
    await page.goto(f"{library_site['base']}/framed")
    framed = page.frames[-1]

    assert preselected
    assert "Bedankt: uw stem is geteld." in await poll_tab.locator("main").inner_text()
    assert (await live.services.store.tally(poll.id)).counts == (0, 1)
    assert framed.url.startswith("chrome-error:")  # the poll page refuses to be framed
    assert poll.question not in await framed.content()


async def test_the_widget_passes_axe(live, page):
    poll = await rich_poll(live)
    await page.goto(f"{live.url}/polls/{poll.id}/embed")
    await page.set_viewport_size({"width": 400, "height": 600})

    await assert_accessible(page)
    await screenshot(page, "embed")
