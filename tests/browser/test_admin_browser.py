"""Staff in a real browser: log in, write a poll with a preview, publish it, approve a
held comment that then shows on the public poll page; every admin page passes axe
and is kept as a screenshot."""

from __future__ import annotations

import time
from typing import Any

from browsing import assert_accessible, comment_on, screenshot

from fediverse import accounts
from fediverse.storage import Follow

PASSWORD = "correct horse battery"


async def log_in(live: Any, page: Any) -> None:
    await accounts.create_account(live.services.store, "anna", PASSWORD, time.time())
    await page.goto(f"{live.url}/admin/polls/new")  # sent to the login form first
    await assert_accessible(page)
    await screenshot(page, "admin-login")
    await page.get_by_label("Gebruikersnaam").fill("anna")
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()


async def test_staff_publish_a_poll_and_approve_a_held_comment(live, page, browser):
    await log_in(live, page)
    assert page.url == f"{live.url}/admin/polls/new"

    await page.get_by_label("Stelling").fill("De bibliotheek moet op zondag open.")
    await page.get_by_label("Artikel (Markdown)").fill(
        "## Waarom\n\nOmdat **iedereen** dan tijd heeft. <script>alert(1)</script>")
    await page.locator("#opinion_name_0").fill("An Jansen")
    await page.locator("#opinion_text_0").fill("Eens, *zeker*.")
    await page.get_by_label("Reacties op de peilingpagina").select_option("held")
    await page.get_by_role("button", name="Voorbeeld").click()

    preview = page.locator(".preview")
    assert await preview.get_by_role("heading", name="Waarom").count() == 1
    assert "<script>alert(1)</script>" in await preview.inner_text()  # shown, not run
    assert await page.get_by_label("Stelling").input_value() == (
        "De bibliotheek moet op zondag open.")
    await assert_accessible(page)
    await screenshot(page, "admin-poll-preview")

    await page.get_by_role("button", name="Publiceren").click()
    assert "De peiling is gepubliceerd." in await page.get_by_role("status").inner_text()
    [poll] = await live.services.store.polls("bieb")
    assert await live.services.store.poll_moderation(poll.id) == "held"

    visitor = await browser.new_context(locale="nl-NL")
    try:
        public = await visitor.new_page()
        await public.goto(f"{live.url}/polls/{poll.id}")
        await comment_on(public, "Ria", "ria@example.org", "Graag ook 's avonds.")
        assert "Graag ook 's avonds." not in await public.locator("#comments").inner_text()

        await page.goto(f"{live.url}/admin/moderation")
        assert "ria@example.org" in await page.locator("main").inner_text()
        await assert_accessible(page)
        await screenshot(page, "admin-moderation")
        await page.get_by_role("button", name="Publiceren").click()
        assert "De reactie is gepubliceerd." in await page.get_by_role("status").inner_text()

        await public.reload()
        comments = await public.locator("#comments").inner_text()
        assert "Graag ook 's avonds." in comments and "ria@example.org" not in comments
    finally:
        await visitor.close()
    assert page.errors == []


async def test_every_admin_page_passes_axe(live, page):
    await live.services.store.save_follower(Follow(
        "bieb", "https://m.example/users/carol", "https://m.example/follows/1", "pending",
        time.time()))
    await log_in(live, page)
    await page.goto(f"{live.url}/admin/polls/new")
    await page.get_by_label("Stelling").fill("Meer stiltewerkplekken?")
    await page.get_by_role("button", name="Publiceren").click()
    [poll] = await live.services.store.polls("bieb")
    await live.services.store.save_report(
        "https://m.example/flags/1", "https://m.example/actor", "Spam <b>hier</b>",
        (live.actor_id, f"{live.url}/polls/{poll.id}"), time.time())
    await live.services.store.block_domain("spam.example", time.time())

    for path, name in [("/admin/", "overview"), ("/admin/polls", "polls"),
                       (f"/admin/polls/{poll.id}/edit", "poll-edit"),
                       (f"/admin/polls/{poll.id}/delete", "poll-delete"),
                       ("/admin/reports", "reports"), ("/admin/blocks", "blocks"),
                       ("/admin/followers", "followers"), ("/admin/federation", "federation")]:
        response = await page.goto(f"{live.url}{path}")
        assert response.status == 200, path
        await assert_accessible(page)
        await screenshot(page, f"admin-{name}")
    assert page.errors == []



async def test_a_refused_adoption_is_explained_on_the_polls_page(live, page):
    await log_in(live, page)
    await page.goto(f"{live.url}/admin/polls")
    await page.get_by_label("URL van de landelijke peiling").fill(live.actor_id)  # no poll
    await page.get_by_role("button", name="Overnemen").click()

    assert await page.get_by_role("alert").inner_text() == "Dat adres is geen peiling."
    assert await page.get_by_label("URL van de landelijke peiling").input_value() == live.actor_id
    assert await live.services.store.polls("bieb") == []
    await assert_accessible(page)
    await screenshot(page, "admin-adopt-refused")
    assert [e for e in page.errors if "status of 422" not in e] == []  # the refusal's status
