"""A hub and two libraries over real loopback HTTP: the hub follows both, both adopt
a national poll, Mastodon voters vote on both copies, and the hub adds up exactly."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest
from harness import FakeRemote, process, settle, start_instance
from hub_helpers import (
    by_library,
    cast,
    follow_libraries,
    national_poll,
    report,
    result_of,
    start_hub,
    start_library,
)
from visitor_client import Visitor

from activitypub import httpsig
from activitypub.keys import load_private_key
from fediverse.hub.adoption import adopt
from fediverse.lifecycle import close_poll, edit_poll, publish_poll
from fediverse.polls import PollDraft, PollError, draft_of

AS2 = {"Accept": "application/activity+json"}


@pytest.fixture
async def voters():
    fake = await FakeRemote().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def network(tmp_path):
    """A hub following two libraries (bieb and stad), all serving."""
    hub = await start_hub(tmp_path)
    bieb = await start_library(tmp_path, "bieb", hub)
    stad = await start_library(tmp_path, "stad", hub)
    await follow_libraries(hub, bieb, stad)
    running = {"hub": hub, "bieb": bieb, "stad": stad}
    yield running
    for instance in running.values():
        await instance.stop()


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        return r.status, await r.text()


async def adopted(network, **changes):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll = await national_poll(hub, **changes)
    url = hub.services.urls.poll(poll.id)
    copies = [await adopt(lib.services, lib.username, url) for lib in (bieb, stad)]
    await settle(hub, bieb, stad)
    return poll, copies


async def test_the_hub_follows_libraries_and_they_accept(network):
    hub = network["hub"]

    following = await hub.services.store.following("hub")

    assert {f.actor_id: f.state for f in following} == {
        network["bieb"].actor_id: "accepted", network["stad"].actor_id: "accepted"}


async def test_national_totals_are_the_exact_sum_with_a_breakdown_per_library(
        network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)

    await cast(voters, bieb, copy_b.id, [("alice", "Eens"), ("bob", "Eens"),
                                         ("carol", "Oneens")])
    await cast(voters, stad, copy_s.id, [("dave", "Oneens"), ("erin", "Oneens")])
    await cast(voters, hub, poll.id, [("frank", "Eens")])  # a direct vote at the hub
    await settle(hub, bieb, stad)

    result = await result_of(hub, poll)
    assert result.counts == (3, 3) and result.voters == 6
    assert by_library(result) == {bieb.actor_id: (2, 1), stad.actor_id: (0, 2)}
    assert result.reported == 2 and not result.final
    status, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert status == 200
    assert "Eens (3 votes) 50%" in page and "2 of 2 copies reported" in page
    assert "Bibliotheek bieb" in page and "Bibliotheek stad" in page


async def test_a_copy_links_to_the_national_poll_in_its_question(network):
    hub, bieb = network["hub"], network["bieb"]
    poll, (copy_b, _) = await adopted(network)

    status, body = await get(f"{bieb.url}/polls/{copy_b.id}", AS2)

    question = json.loads(body)
    assert status == 200
    assert question["nationalPoll"] == hub.services.urls.poll(poll.id)
    assert [o["name"] for o in question["oneOf"]] == list(poll.options)
    context = question["@context"][-1]
    assert context["nationalPoll"]["@id"] == "peiling:nationalPoll"
    assert context["countedAt"] == "peiling:countedAt" and "peiling" in context


async def test_a_library_that_goes_down_is_stale_and_its_return_counts_once(
        network, voters, tmp_path):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    await cast(voters, bieb, copy_b.id, [("alice", "Eens")])
    await cast(voters, stad, copy_s.id, [("bob", "Oneens"), ("carol", "Eens")])
    await settle(hub, bieb, stad)

    # stad goes down: the hub keeps its last counts and, later on, calls them stale
    await stad.stop()
    later = await result_of(hub, poll, now=time.time() + 2 * 86400)
    assert by_library(later)[stad.actor_id] == (1, 1)
    assert [row.stale for row in later.copies] == [True, True]  # nobody reported for days

    # stad comes back on its address; its next report replaces, never adds
    stad = network["stad"] = await start_library(tmp_path, "stad", hub, port=stad.port)
    await cast(voters, stad, copy_s.id, [("dave", "Oneens")])
    await settle(hub, bieb, stad)
    await report(stad, later=5.0)  # a repeated report of the same counts
    await settle(hub, bieb, stad)

    result = await result_of(hub, poll)
    assert by_library(result) == {bieb.actor_id: (1, 0), stad.actor_id: (1, 2)}
    assert result.counts == (2, 2) and result.voters == 4
    assert not any(row.stale for row in result.copies)


async def test_the_hub_restarts_and_loses_nothing(network, voters, tmp_path):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    await cast(voters, bieb, copy_b.id, [("alice", "Eens")])
    await cast(voters, stad, copy_s.id, [("bob", "Oneens")])
    await settle(hub, bieb, stad)
    before = await result_of(hub, poll)

    await hub.stop()
    hub = network["hub"] = await start_hub(tmp_path, port=hub.port)

    after = await result_of(hub, poll)
    assert (after.counts, after.voters, by_library(after)) == (
        before.counts, before.voters, by_library(before)) == ((1, 1), 2, {
            bieb.actor_id: (1, 0), stad.actor_id: (0, 1)})
    assert (await get(f"{hub.url}/national"))[0] == 200


async def test_hidden_results_reach_the_hub_privately_and_nobody_else(network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    watcher = voters.add_actor("watcher", key_index=3)
    follow = voters.fixture("mastodon-follow.json", bieb, actor="watcher")
    follow["id"] = f"{watcher}#follows/1"
    await voters.send(follow, bieb.inbox)
    await process(bieb)
    poll, (copy_b, copy_s) = await adopted(network, hide_results=True)
    assert copy_b.hide_results and copy_s.hide_results
    voters.received.clear()

    await cast(voters, bieb, copy_b.id, [("alice", "Eens"), ("bob", "Oneens")])
    await cast(voters, stad, copy_s.id, [("carol", "Eens")])
    await settle(hub, bieb, stad)

    result = await result_of(hub, poll)
    assert by_library(result) == {bieb.actor_id: (1, 1), stad.actor_id: (1, 0)}
    assert result.counts == (2, 1)
    _, public = await get(f"{bieb.url}/polls/{copy_b.id}", AS2)
    assert [o["replies"]["totalItems"] for o in json.loads(public)["oneOf"]] == [None, None]
    assert [r for r in voters.received if r.json["type"] == "Update"] == []  # none to voters
    outbox = await bieb.services.store.public_outbox("bieb", 50)
    assert not any('"totalItems": 1' in body for body in outbox)  # not published either
    with sqlite3.connect(bieb.settings.database) as db:
        [private] = [json.loads(body) for (body,) in db.execute(
            "SELECT body FROM outbox_activity WHERE type = 'Update' AND public = 0")]
    assert private["to"] == [hub.actor_id] and "cc" not in private
    assert private["object"]["to"] == [hub.actor_id] and private["object"]["cc"] == []
    assert [o["replies"]["totalItems"] for o in private["object"]["oneOf"]] == [1, 1]
    _, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert "The results are shown once the poll closes." in page


async def test_the_hub_boosts_each_new_library_poll_to_its_followers(network, voters):
    hub, bieb = network["hub"], network["bieb"]
    follow = voters.fixture("mastodon-follow.json", hub)
    voters.add_actor("alice")
    follow["object"] = hub.actor_id
    await voters.send(follow, hub.inbox)
    await process(hub)
    voters.received.clear()

    _, (copy_b, copy_s) = await adopted(network)
    await settle(hub, bieb, network["stad"])

    boosts = [r.json for r in voters.received if r.json["type"] == "Announce"]
    assert sorted(b["object"] for b in boosts) == sorted(
        [bieb.services.urls.poll(copy_b.id), network["stad"].services.urls.poll(copy_s.id)])
    assert all(r.verified for r in voters.received)
    assert all(b["actor"] == hub.actor_id and b["to"] == [
        "https://www.w3.org/ns/activitystreams#Public"] for b in boosts)
    assert all(b["cc"] == [f"{hub.actor_id}/followers"] for b in boosts)


async def test_a_copy_with_other_options_is_shown_but_not_added_up(network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    await edit_poll(stad.services, copy_s.id,
                    replace(draft_of(copy_s), options=("Ja", "Nee")))
    await settle(hub, bieb, stad)

    await cast(voters, bieb, copy_b.id, [("alice", "Eens")])
    await cast(voters, stad, copy_s.id, [("bob", "Ja")])
    await settle(hub, bieb, stad)

    result = await result_of(hub, poll)
    assert result.counts == (1, 0) and result.reported == 1
    _, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert "Not counted: its options differ from the national poll" in page


async def test_the_result_is_final_once_every_copy_sent_its_final_counts(network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    await cast(voters, bieb, copy_b.id, [("alice", "Eens")])

    await close_poll(hub.services, poll.id)
    await close_poll(bieb.services, copy_b.id)
    await report(bieb)
    await settle(hub, bieb, stad)
    assert not (await result_of(hub, poll)).final  # stad has not closed

    await close_poll(stad.services, copy_s.id)
    await report(stad)
    await settle(hub, bieb, stad)
    result = await result_of(hub, poll)
    assert result.final and result.counts == (1, 0)
    _, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert "National result (final)" in page


async def test_adopting_something_that_is_no_open_poll_is_refused(network):
    bieb = network["bieb"]
    with pytest.raises(PollError):
        await adopt(bieb.services, "bieb", network["stad"].actor_id)  # an actor, no poll
    assert await bieb.services.store.polls("bieb") == []


async def test_national_pages_exist_only_on_a_hub(network, tmp_path):
    hub, bieb = network["hub"], network["bieb"]
    assert (await get(f"{hub.url}/national"))[0] == 200
    status, page = await get(f"{hub.url}/national/libraries/{bieb.settings.host}?lang=en")
    assert status == 200 and "Bibliotheek bieb" in page
    assert (await get(f"{bieb.url}/national"))[0] == 404
    plain = await start_instance(tmp_path, "plain")
    try:
        assert (await get(f"{plain.url}/national"))[0] == 404
    finally:
        await plain.stop()


async def test_a_library_poll_outside_any_national_poll_is_mirrored(network, voters):
    hub, bieb = network["hub"], network["bieb"]
    own = await publish_poll(bieb.services, "bieb", PollDraft(
        question="Meer leesclubs?", end_time=time.time() + 86400))
    await settle(hub, bieb)
    await cast(voters, bieb, own.id, [("alice", "Oneens")])
    await settle(hub, bieb)

    [mirrored] = await hub.services.store.mirrored_polls(bieb.actor_id)
    assert (mirrored.question, mirrored.counts, mirrored.national_poll) == (
        "Meer leesclubs?", (0, 1), None)
    _, page = await get(f"{hub.url}/national?lang=en")
    assert "Meer leesclubs?" in page and "as of" in page


async def test_the_national_page_shows_the_discussion_of_every_copy(network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    for actor, library, copy, html in (
            ("alice", bieb, copy_b, "<p>Graag op zondag!</p>"),
            ("bob", stad, copy_s, '<p>Liever niet <script>alert(1)</script><a href="javascript:x">'
                                  'klik</a></p>')):
        voters.add_actor(actor, key_index=2)
        activity = voters.fixture("mastodon-reply.json", library, actor=actor)
        note = activity["object"]
        note.update(id=f"{voters.base}/users/{actor}/statuses/1", content=html,
                    inReplyTo=library.services.urls.poll(copy.id))
        activity["id"] = f"{note['id']}/activity"
        voters.objects[f"/users/{actor}/statuses/1"] = note
        assert (await voters.send(activity, library.inbox))[0] == 202

    await cast(voters, bieb, copy_b.id, [("carol", "Eens")])
    await cast(voters, stad, copy_s.id, [("dave", "Eens")])
    await settle(hub, bieb, stad)

    _, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert "Comments (2)" in page
    assert "Graag op zondag!" in page and "at Bibliotheek bieb" in page
    assert "Liever niet" in page and "at Bibliotheek stad" in page
    assert "alert(1)" not in page and "javascript:" not in page
    assert "Alice" in page and "Bob" in page


async def test_replies_claimed_for_another_poll_are_not_shown(network, voters):
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, _) = await adopted(network)
    voters.add_actor("alice", key_index=2)
    activity = voters.fixture("mastodon-reply.json", bieb, actor="alice")
    note = activity["object"]
    note.update(id=f"{voters.base}/users/alice/statuses/9", content="<p>Echt</p>",
                inReplyTo=bieb.services.urls.poll(copy_b.id))
    activity["id"] = f"{note['id']}/activity"
    voters.objects["/users/alice/statuses/9"] = dict(note, inReplyTo=f"{voters.base}/elsewhere")
    await voters.send(activity, bieb.inbox)

    await cast(voters, bieb, copy_b.id, [("carol", "Eens")])
    await settle(hub, bieb, stad)

    assert await hub.services.store.hub_replies([bieb.services.urls.poll(copy_b.id)]) == []


async def test_library_a_cannot_change_library_bs_counts_at_the_hub(network, voters):
    """A42 with real instances: bieb's own key signs an Update of stad's copy."""
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, copy_s) = await adopted(network)
    await cast(voters, stad, copy_s.id, [("alice", "Oneens")])
    await settle(hub, bieb, stad)
    _, served = await get(f"{stad.url}/polls/{copy_s.id}", AS2)
    forged = json.loads(served)
    forged.update(countedAt="2026-12-01T00:00:00.000Z", oneOf=[
        {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": 999}}
        for n in ("Eens", "Oneens")])
    key = load_private_key((await bieb.services.store.local_actor("bieb")).private_key_pem)
    statuses = []
    for claimed in (stad.actor_id, bieb.actor_id):  # as stad's, then as bieb's own
        update = {"@context": forged["@context"], "id": f"{bieb.actor_id}#forged/{claimed}",
                  "type": "Update", "actor": bieb.actor_id,
                  "object": dict(forged, attributedTo=claimed)}
        body = json.dumps(update).encode()
        headers = httpsig.sign("POST", hub.inbox, {"Content-Type": "application/activity+json"},
                               body, key_id=f"{bieb.actor_id}#main-key", private_key=key,
                               now=datetime.now(UTC))
        async with aiohttp.ClientSession() as session, session.post(
                hub.inbox, data=body, headers=headers) as response:
            statuses.append(response.status)
    await settle(hub, bieb, stad)

    assert statuses == [403, 403]
    assert by_library(await result_of(hub, poll))[stad.actor_id] == (0, 1)
    assert (await get(f"{hub.url}/healthz"))[0] == 200


async def test_a_comment_on_a_librarys_page_reaches_the_national_page(network, voters):
    """A web comment is a Note by the library actor; the hub shows it under the
    commenter's name, at that library, after the copy's next report."""
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, _) = await adopted(network)
    await bieb.services.store.set_poll_moderation(copy_b.id, "open")
    async with Visitor(bieb) as visitor:
        status, _, _ = await visitor.comment(copy_b.id, name="Joke Lezer",
                                             email="joke-canary@example.org",
                                             text="Zondag is de enige dag dat ik kan.")
    assert status == 303

    await cast(voters, bieb, copy_b.id, [("carol", "Eens")])
    await settle(hub, bieb, stad)

    _, page = await get(f"{hub.url}/national/polls/{poll.id}?lang=en")
    assert "Comments (1)" in page
    assert "Zondag is de enige dag dat ik kan." in page
    assert "<strong>Joke Lezer</strong>" in page and "(on the library's website)" in page
    assert "at Bibliotheek bieb" in page and "Reactie van" not in page
    assert "joke-canary" not in page


async def test_only_the_library_itself_can_name_a_commenter(network, voters):
    """`commenterName` on someone else's reply names nobody: the author is the actor."""
    hub, bieb, stad = network["hub"], network["bieb"], network["stad"]
    poll, (copy_b, _) = await adopted(network)
    voters.add_actor("alice", key_index=2)
    activity = voters.fixture("mastodon-reply.json", bieb, actor="alice")
    note = activity["object"]
    note.update(id=f"{voters.base}/users/alice/statuses/5", content="<p>Echt waar</p>",
                inReplyTo=bieb.services.urls.poll(copy_b.id), commenterName="De Burgemeester")
    activity["id"] = f"{note['id']}/activity"
    voters.objects["/users/alice/statuses/5"] = note
    assert (await voters.send(activity, bieb.inbox))[0] == 202

    await cast(voters, bieb, copy_b.id, [("carol", "Eens")])
    await settle(hub, bieb, stad)

    [reply] = await hub.services.store.hub_replies([bieb.services.urls.poll(copy_b.id)])
    assert (reply.author_name, reply.author_url) == ("Alice", voters.actors["alice"]["url"])
