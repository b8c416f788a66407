"""Votes cast on the poll page: counted with the fediverse's, once per browser, no leaks."""

from __future__ import annotations

import json
import time

import pytest
from harness import FakeRemote, RunningInstance, process, start_instance
from test_polls_federation import follow, new_poll, vote_from
from visitor_client import Visitor

from fediverse.lifecycle import close_poll
from fediverse.settings import Settings, SettingsError
from fediverse.tallies import TallyWorker
from fediverse.webvotes import VOTER_PREFIX

AS2 = "application/activity+json"


async def counts(instance: RunningInstance, poll_id: int) -> tuple[tuple[int, ...], int]:
    tally = await instance.services.store.tally(poll_id)
    return tally.counts, tally.voters


async def test_a_visitor_votes_and_sees_the_results(instance):
    poll = await new_poll(instance)

    async with Visitor(instance) as visitor:
        status, _, headers = await visitor.vote(poll.id, 0)
        _, page, _ = await visitor.get(headers["Location"].split("#")[0])

    assert status == 303 and headers["Location"] == f"/polls/{poll.id}#vote"
    assert await counts(instance, poll.id) == ((1, 0), 1)
    assert "Bedankt: uw stem is geteld." in page
    assert "Eens (1 stem) 100%" in page and "1 deelnemer" in page
    assert "U hebt in deze peiling gestemd." in page
    assert f'action="/polls/{poll.id}/vote"' not in page  # no second ballot offered


async def test_a_second_vote_from_the_same_browser_is_refused(instance):
    poll = await new_poll(instance)

    async with Visitor(instance) as visitor:
        await visitor.vote(poll.id, 0)
        status, _, headers = await visitor.vote(poll.id, 1)
        _, page, _ = await visitor.get(f"/polls/{poll.id}")

    assert status == 303 and headers["Location"] == f"/polls/{poll.id}#vote"
    assert "U hebt al gestemd in deze peiling." in page
    assert await counts(instance, poll.id) == ((1, 0), 1)


async def test_a_multiple_choice_poll_takes_several_options_once(instance):
    poll = await new_poll(instance, multiple=True, options=("Boeken", "Films", "Games"))

    async with Visitor(instance) as visitor:
        first, _, _ = await visitor.vote(poll.id, 0, 2)
        await visitor.vote(poll.id, 1)

    assert first == 303
    assert await counts(instance, poll.id) == ((1, 0, 1), 1)


async def test_another_browser_is_another_voter(instance):
    poll = await new_poll(instance)

    async with Visitor(instance) as one, Visitor(instance) as two:
        await one.vote(poll.id, 0)
        await two.vote(poll.id, 1)

    assert await counts(instance, poll.id) == ((1, 1), 2)


async def test_bad_votes_change_nothing(instance):
    poll = await new_poll(instance)
    closed = await new_poll(instance)
    await close_poll(instance.services, closed.id)

    async with Visitor(instance) as visitor:
        await visitor.get(f"/polls/{poll.id}")
        answers = {
            "no option": await visitor.post(f"/polls/{poll.id}/vote", []),
            "unknown option": await visitor.post(f"/polls/{poll.id}/vote", [("choice", "7")]),
            "not a number": await visitor.post(f"/polls/{poll.id}/vote", [("choice", "Eens")]),
            "superscript": await visitor.post(f"/polls/{poll.id}/vote", [("choice", "\u00b2")]),
            "huge number": await visitor.post(f"/polls/{poll.id}/vote", [("choice", "9" * 5000)]),
            "two in a single": await visitor.post(f"/polls/{poll.id}/vote",
                                                  [("choice", "0"), ("choice", "1")]),
            "closed poll": await visitor.post(f"/polls/{closed.id}/vote", [("choice", "0")]),
        }
        no_csrf = await visitor.post(f"/polls/{poll.id}/vote", [("choice", "0")], csrf=False)
        wrong_csrf = await visitor.post(f"/polls/{poll.id}/vote",
                                        [("csrf_token", "forged"), ("choice", "0")], csrf=False)
        unknown_poll = await visitor.post("/polls/999/vote", [("choice", "0")])
        _, page, _ = await visitor.get(f"/polls/{closed.id}")

    assert {name: status for name, (status, _, _) in answers.items()} == dict.fromkeys(answers, 303)
    assert no_csrf[0] == wrong_csrf[0] == 400 and "verlopen" in no_csrf[1]
    assert unknown_poll[0] == 404
    assert "Deze peiling is gesloten: er worden geen stemmen meer geteld." in page
    assert await counts(instance, poll.id) == ((0, 0), 0)
    assert await counts(instance, closed.id) == ((0, 0), 0)
    assert not await instance.services.store.has_votes(poll.id)


async def test_a_flood_of_votes_from_one_address_is_cut_off(tmp_path):
    instance = await start_instance(tmp_path, web_votes_per_ip_per_hour=3)
    try:
        polls = [await new_poll(instance) for _ in range(5)]
        statuses = []
        async with Visitor(instance) as visitor:
            for poll in polls:
                status, _, headers = await visitor.vote(poll.id, 0)
                statuses.append((status, headers.get("Retry-After")))
        async with Visitor(instance) as healthy:
            still_serving, _, _ = await healthy.get(f"/polls/{polls[0].id}")
        voters = [(await counts(instance, p.id))[1] for p in polls]
    finally:
        await instance.stop()

    assert [s for s, _ in statuses] == [303, 303, 303, 429, 429]
    assert int(statuses[-1][1]) > 0
    assert voters == [1, 1, 1, 0, 0]
    assert still_serving == 200


async def test_the_limit_reads_the_visitor_behind_a_trusted_proxy(tmp_path):
    instance = await start_instance(tmp_path, web_votes_per_ip_per_hour=1,
                                    trusted_proxy="127.0.0.1")
    try:
        polls = [await new_poll(instance) for _ in range(3)]
        async with Visitor(instance, **{"X-Forwarded-For": "198.51.100.1"}) as first:
            one, _, _ = await first.vote(polls[0].id, 0)
            two, _, _ = await first.vote(polls[1].id, 0)
        async with Visitor(instance, **{"X-Forwarded-For": "10.9.9.9, 198.51.100.2"}) as other:
            three, _, _ = await other.vote(polls[2].id, 0)
    finally:
        await instance.stop()

    assert (one, two, three) == (303, 429, 303)


async def test_web_and_fediverse_votes_add_up_and_web_voters_are_never_published(
        instance, remote: FakeRemote):
    # Given a follower, a fediverse vote and two web votes
    await follow(instance, remote)
    poll = await new_poll(instance)
    await remote.send(vote_from(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)
    async with Visitor(instance) as one, Visitor(instance) as two:
        await one.vote(poll.id, 0)
        await two.vote(poll.id, 1)
    remote.received.clear()

    # When the tally Update is due
    clock = [time.time() + 3600]
    sent = await TallyWorker(instance.services, debounce_seconds=60,
                             clock=lambda: clock[0]).run_once()
    await instance.services.delivery.run_once()
    async with Visitor(instance) as reader:
        documents = [await reader.get(path, Accept=AS2) for path in (
            f"/polls/{poll.id}", f"/polls/{poll.id}/replies", "/users/bieb/outbox")]

    # Then one Update carries all three votes, and no web voter id is anywhere
    assert sent == 1
    update = remote.received[-1].json
    assert update["type"] == "Update"
    assert [o["replies"]["totalItems"] for o in update["object"]["oneOf"]] == [2, 1]
    assert update["object"]["votersCount"] == 3
    assert await instance.services.store.voter_inboxes(poll.id) == [f"{remote.base}/inbox"]
    everything = [r.body.decode() for r in remote.received] + [d[1] for d in documents]
    assert all(VOTER_PREFIX not in text and "peiling_voter" not in text for text in everything)
    assert json.loads(documents[0][1])["votersCount"] == 3


@pytest.mark.parametrize("name", ["web_votes_per_ip_per_hour", "comments_per_ip_per_hour",
                                  "comment_max_chars"])
def test_visitor_limits_must_allow_something(name):
    with pytest.raises(SettingsError, match=name):
        Settings(base_url="https://bieb.example", **{name: 0})
