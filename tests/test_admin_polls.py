"""Staff make and manage polls in the admin: preview before publishing, errors shown
on the form with what was typed, locked fields once votes exist, close, reopen and
delete through the same lifecycle as the CLI and the API."""

from __future__ import annotations

import time
from datetime import datetime
from html import unescape
from typing import Any

import pytest
from harness import FakeRemote, RunningInstance, follower_on, process

from fediverse.i18n import TIMEZONE


def in_days(days: float) -> str:
    return datetime.fromtimestamp(time.time() + days * 86400, TIMEZONE).strftime("%Y-%m-%dT%H:%M")


def poll_fields(**changes: Any) -> dict[str, str]:
    fields = {"username": "bieb", "question": "De bibliotheek moet op zondag open.",
              "introduction": "Wat vindt u?", "article": "## Waarom\n\nOmdat **iedereen**...",
              "options": "Eens\nOneens\nWeet niet", "closes_at": in_days(14),
              "moderation": "held", "opinion_name_0": "An Jansen",
              "opinion_role_0": "Directeur", "opinion_text_0": "Eens, *zeker*.",
              "action": "publish"}
    fields.update(changes)
    return fields


async def stored_polls(instance: RunningInstance) -> list[Any]:
    return await instance.services.store.polls("bieb")


async def test_preview_renders_markdown_and_stores_nothing(instance, staff):
    await staff.get("/admin/polls/new")
    status, page, _ = await staff.post("/admin/polls/new", poll_fields(
        action="preview", article="## Waarom\n\n<script>alert(1)</script> **vet**"))

    assert status == 200
    assert "<h2>Waarom</h2>" in page and "<strong>vet</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, and kept in the form
    assert await stored_polls(instance) == []


async def test_publish_stores_the_poll_and_sends_it_to_followers(instance, staff):
    remote = await FakeRemote().start()
    try:
        await follower_on(remote, instance)
        await staff.get("/admin/polls/new")

        status, _, headers = await staff.post("/admin/polls/new", poll_fields())
        await process(instance)

        [poll] = await stored_polls(instance)
        assert status == 303 and headers["Location"] == f"/admin/polls/{poll.id}/edit"
        assert poll.options == ("Eens", "Oneens", "Weet niet")
        assert [o.name for o in poll.opinions] == ["An Jansen"]
        assert await instance.services.store.poll_moderation(poll.id) == "held"
        assert [r.json["type"] for r in remote.received] == ["Create"]
        assert remote.received[0].json["object"]["type"] == "Question"
    finally:
        await remote.stop()


@pytest.mark.parametrize(("changes", "message"), [
    ({"question": ""}, "1 tot 500 tekens"),
    ({"question": "x" * 501}, "1 tot 500 tekens"),
    ({"options": "Alleen dit"}, "2 tot 20"),
    ({"options": "\n".join(f"optie {i}" for i in range(25))}, "2 tot 20"),
    ({"options": "Ja\nJa"}, "verschillen"),
    ({"closes_at": "morgen"}, "sluitingsdatum"),
    ({"closes_at": in_days(-1)}, "5 minuten"),
    ({"closes_at": in_days(400)}, "5 minuten"),
    ({"moderation": "anything"}, "gemodereerd"),
    ({"opinion_text_0": ""}, "naam en een tekst"),
    ({"article": "x" * 100_001}, "100000"),
    ({"username": "nobody"}, "bibliotheek"),
])
async def test_a_refused_form_keeps_what_staff_typed(instance, staff, changes, message):
    await staff.get("/admin/polls/new")
    fields = poll_fields(**changes, introduction="Mijn <b>zorgvuldig</b> getypte inleiding")

    status, page, _ = await staff.post("/admin/polls/new", fields)

    assert status == 422
    assert message in unescape(page)
    assert "Mijn &lt;b&gt;zorgvuldig&lt;/b&gt; getypte inleiding" in page
    assert await stored_polls(instance) == []
    assert (await staff.get("/healthz"))[0] == 200


async def test_an_oversized_form_is_refused(instance, staff):
    await staff.get("/admin/polls/new")
    status, _, _ = await staff.post("/admin/polls/new", poll_fields(article="x" * 2_000_000))
    assert status == 413
    assert await stored_polls(instance) == []


async def test_texts_stay_editable_and_votes_lock_the_rest(instance, staff):
    await staff.get("/admin/polls/new")
    await staff.post("/admin/polls/new", poll_fields())
    [poll] = await stored_polls(instance)
    await instance.services.store.record_vote(poll.id, "https://m.example/users/alice", [0],
                                              True, None, time.time())

    status, page, _ = await staff.get(f"/admin/polls/{poll.id}/edit")
    assert status == 200
    assert 'id="question" name="question"' in page and "Vergrendeld" in page
    assert page.count(" disabled") == 3  # question, options, multiple

    # a browser sends no disabled field: the locked values stand, the texts change
    edited = {k: v for k, v in poll_fields(article="Nieuw artikel", action="save").items()
              if k not in ("question", "options")}
    status, _, _ = await staff.post(f"/admin/polls/{poll.id}/edit", edited)
    assert status == 303
    after = await instance.services.store.poll(poll.id)
    assert after.article == "Nieuw artikel" and after.options == poll.options

    # a forged form that changes a locked field is refused, nothing changes
    await staff.get(f"/admin/polls/{poll.id}/edit")
    forged = poll_fields(options="Ja\nNee", action="save", article="Weer anders")
    status, page, _ = await staff.post(f"/admin/polls/{poll.id}/edit", forged)
    assert status == 422 and "vergrendeld" in page
    assert await instance.services.store.poll(poll.id) == after


async def test_close_reopen_and_delete_with_confirmation(instance, staff):
    await staff.get("/admin/polls/new")
    await staff.post("/admin/polls/new", poll_fields())
    [poll] = await stored_polls(instance)

    await staff.get("/admin/polls")
    assert (await staff.post(f"/admin/polls/{poll.id}/close", {}))[0] == 303
    assert (await instance.services.store.poll(poll.id)).closed_at is not None
    await staff.get("/admin/polls")
    assert (await staff.post(f"/admin/polls/{poll.id}/reopen", {}))[0] == 303
    assert (await instance.services.store.poll(poll.id)).closed_at is None

    status, page, _ = await staff.get(f"/admin/polls/{poll.id}/delete")
    assert status == 200 and poll.question in page
    assert (await staff.post(f"/admin/polls/{poll.id}/delete", {}))[0] == 400
    assert await instance.services.store.poll(poll.id) is not None
    assert (await staff.post(f"/admin/polls/{poll.id}/delete", {"confirm": "yes"}))[0] == 303
    assert await instance.services.store.poll(poll.id) is None


async def test_reopening_an_open_poll_says_why_not(instance, staff):
    await staff.get("/admin/polls/new")
    await staff.post("/admin/polls/new", poll_fields())
    [poll] = await stored_polls(instance)
    await staff.get("/admin/polls")

    status, _, headers = await staff.post(f"/admin/polls/{poll.id}/reopen", {})
    _, page, _ = await staff.get(headers["Location"])

    assert status == 303 and "vroegtijdig gesloten" in page


@pytest.mark.parametrize("path", ["/admin/polls/999/edit", "/admin/polls/999/delete",
                                  "/admin/polls/99999999999999999999999/edit"])
async def test_unknown_polls_are_404(staff, path):
    status, _, _ = await staff.get(path, Accept="text/html")
    assert status == 404


async def test_a_poll_past_its_planned_end_reopens_with_a_new_closing_time(instance, staff):
    await staff.get("/admin/polls/new")
    await staff.post("/admin/polls/new", poll_fields())
    [poll] = await stored_polls(instance)
    await instance.services.store.set_poll_end(poll.id, time.time() - 60, time.time() - 60)
    await staff.get("/admin/polls")

    status, _, headers = await staff.post(f"/admin/polls/{poll.id}/reopen",
                                          {"closes_at": "gisteren"})
    _, page, _ = await staff.get(headers["Location"])
    assert status == 303 and "sluitingsdatum" in page
    assert (await instance.services.store.poll(poll.id)).closed_at is not None

    await staff.post(f"/admin/polls/{poll.id}/reopen", {"closes_at": in_days(3)})
    reopened = await instance.services.store.poll(poll.id)
    assert reopened.closed_at is None and reopened.is_open(time.time())
    assert abs(reopened.end_time - (time.time() + 3 * 86400)) < 120


async def test_the_list_shows_every_poll_newest_first_with_its_voters(instance, staff):
    store = instance.services.store
    for question in ("Eerste vraag?", "Tweede vraag?"):
        await staff.get("/admin/polls/new")
        await staff.post("/admin/polls/new", poll_fields(question=question))
    [newest, oldest] = await stored_polls(instance)
    await store.record_vote(oldest.id, "https://m.example/users/a", [1], True, None, time.time())

    status, page, _ = await staff.get("/admin/polls")

    assert status == 200
    assert page.index("Tweede vraag?") < page.index("Eerste vraag?")
    assert f'href="/admin/polls/{oldest.id}/results.csv"' in page
    assert '<td class="number">1</td>' in page
