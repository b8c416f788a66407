"""The poll at its id: a Question for fediverse software, a page for browsers."""

from __future__ import annotations

import time

import aiohttp
from harness import RunningInstance
from test_polls_federation import new_poll

from fediverse.lifecycle import close_poll, delete_poll, edit_poll, reopen_poll
from fediverse.polls import Opinion, PollDraft

AS2 = "application/activity+json"


async def get(url: str, accept: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Accept": accept}) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def question(instance: RunningInstance, poll_id: int) -> dict:
    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.url}/polls/{poll_id}", headers={"Accept": AS2}) as response:
        assert response.status == 200
        return await response.json(content_type=None)


async def test_the_question_is_dereferenceable_at_its_id(instance):
    poll = await new_poll(instance)

    document = await question(instance, poll.id)

    assert document["id"] == f"{instance.url}/polls/{poll.id}"
    assert document["type"] == "Question"
    status, _, create = await get(f"{instance.url}/polls/{poll.id}/activity", AS2)
    assert status == 200 and '"type": "Create"' in create


async def test_browsers_get_the_article_opinions_and_results(instance):
    poll = await new_poll(instance, article="Een **vet** artikel <script>x()</script>",
                          opinions=(Opinion("Dr. A. Lezer", "Leesbevordering",
                                            "Bibliotheken *moeten* er zijn."),))
    await instance.services.store.record_vote(poll.id, "https://m.example/u/1", [0], True,
                                              "https://m.example/v/1", time.time())

    status, content_type, page = await get(f"{instance.url}/polls/{poll.id}", "text/html")

    assert status == 200 and content_type.startswith("text/html")
    assert "Bibliotheken nemen sociale media nog niet serieus." in page
    assert "<strong>vet</strong>" in page
    assert "<script>x()</script>" not in page
    assert "Dr. A. Lezer" in page and "Leesbevordering" in page
    assert "Eens (1 stem) 100%" in page
    assert "https://m.example/u/1" not in page  # voters are never published


async def test_hidden_results_stay_hidden_until_the_close(instance):
    poll = await new_poll(instance, hide_results=True)
    await instance.services.store.record_vote(poll.id, "https://m.example/u/1", [1], True,
                                              None, time.time())

    open_doc = await question(instance, poll.id)
    _, _, page = await get(f"{instance.url}/polls/{poll.id}", "text/html")
    await close_poll(instance.services, poll.id)
    closed_doc = await question(instance, poll.id)

    assert [o["replies"]["totalItems"] for o in open_doc["oneOf"]] == [None, None]
    assert "Oneens (1 stem)" not in page
    assert [o["replies"]["totalItems"] for o in closed_doc["oneOf"]] == [0, 1]
    assert closed_doc["closed"] == closed_doc["endTime"]


async def test_closing_early_and_reopening(instance):
    poll = await new_poll(instance)

    await close_poll(instance.services, poll.id)
    closed = await question(instance, poll.id)
    await reopen_poll(instance.services, poll.id)
    reopened = await question(instance, poll.id)

    assert "closed" in closed
    assert "closed" not in reopened
    assert reopened["endTime"] > closed["endTime"]


async def test_edits_carry_a_monotonic_updated_and_keep_the_options(instance):
    poll = await new_poll(instance)
    draft = PollDraft(question=poll.question, end_time=poll.end_time,
                      introduction="Nieuwe inleiding", article="Bijgewerkt artikel")

    await edit_poll(instance.services, poll.id, draft)
    first = await question(instance, poll.id)
    await edit_poll(instance.services, poll.id, draft)
    second = await question(instance, poll.id)

    assert "Nieuwe inleiding" in first["content"]
    assert first["updated"] < second["updated"]


async def test_a_deleted_poll_answers_404_and_its_id_is_not_reused(instance):
    poll = await new_poll(instance)

    await delete_poll(instance.services, poll.id)
    status, _, _ = await get(f"{instance.url}/polls/{poll.id}", AS2)
    again = await new_poll(instance)

    assert status == 404
    assert again.id != poll.id
    outbox_rows = await instance.services.store.outbox_activity(
        f"{instance.url}/polls/{poll.id}#delete")
    assert outbox_rows is not None and '"Tombstone"' in outbox_rows


async def test_polls_index_lists_open_polls_first(instance):
    first = await new_poll(instance)
    second = await new_poll(instance)
    await close_poll(instance.services, second.id)

    status, _, page = await get(f"{instance.url}/@bieb/polls", "text/html")

    assert status == 200
    assert page.index(f"/polls/{first.id}") < page.index(f"/polls/{second.id}")


async def test_the_library_profile_leads_to_its_open_polls(instance):
    running = await new_poll(instance)
    closed = await new_poll(instance)
    await close_poll(instance.services, closed.id)

    status, _, page = await get(f"{instance.url}/@bieb", "text/html")

    assert status == 200
    assert f'href="/polls/{running.id}"' in page
    assert f'href="/polls/{closed.id}"' not in page
    assert 'href="/@bieb/polls"' in page
