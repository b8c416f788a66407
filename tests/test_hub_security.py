"""Bad input at the hub (security.md A42 and issue 5): a library cannot touch another
library's counts, an older report never rolls results back, a replay changes
nothing, and forged Accepts and boosts claiming tallies are refused."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import pytest
from harness import FakeRemote, RunningInstance, process
from hub_helpers import start_hub

from fediverse import follows
from fediverse.outgoing import iso_precise

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def hub(tmp_path):
    running = await start_hub(tmp_path)
    yield running
    await running.stop()


async def followed(hub: RunningInstance, remote: FakeRemote, name: str, key: int,
                   accept: bool = True) -> str:
    """A fake library on `remote` that the hub follows (and that accepted)."""
    actor = remote.add_actor(name, key_index=key, type="Organization")
    await follows.follow(hub.services, "hub", actor)
    await hub.services.delivery.run_once()
    [sent] = [r.json for r in remote.received if r.json["type"] == "Follow"
              and r.json["object"] == actor]
    if accept:
        status, _ = await remote.send({
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}#accept",
            "type": "Accept", "actor": actor, "object": sent}, hub.inbox)
        assert status == 202
        await process(hub)
    return actor


def question(actor: str, n: int = 1, counts: tuple[int, int] | None = (1, 2),
             stamp: float | None = None, **extra: Any) -> dict[str, Any]:
    base = actor.rsplit("/users/", 1)[0]
    doc = {"id": f"{base}/polls/{n}", "type": "Question", "attributedTo": actor,
           "content": "<p>Meer leesclubs?</p>", "published": "2026-11-01T10:00:00Z",
           "to": [AS_PUBLIC], "cc": [f"{actor}/followers"], "endTime": "2030-01-01T00:00:00Z",
           "votersCount": None if counts is None else sum(counts),
           "oneOf": [{"type": "Note", "name": name, "replies": {
               "type": "Collection", "totalItems": None if counts is None else count}}
               for name, count in zip(("Eens", "Oneens"), counts or (0, 0), strict=True)]}
    if stamp is not None:
        doc["countedAt"] = iso_precise(stamp)
    doc.update(extra)
    return doc


def wrapped(kind: str, actor: str, obj: Any) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor}#{kind.lower()}/{uuid.uuid4()}", "type": kind, "actor": actor,
            "to": [AS_PUBLIC], "object": obj}


async def mirrored(hub: RunningInstance, poll_id: str) -> tuple[Any, ...] | None:
    found = await hub.services.store.mirrored_poll(poll_id)
    return None if found is None else (found.counts, found.voters)


async def still_serving(hub: RunningInstance, remote: FakeRemote, library: str) -> None:
    """A legitimate report from a followed library still gets through."""
    async with aiohttp.ClientSession() as session, session.get(f"{hub.url}/healthz") as r:
        assert r.status == 200
    honest = question(library, n=77, counts=(4, 4), stamp=time.time())
    assert (await remote.send(wrapped("Create", library, honest), hub.inbox))[0] == 202
    await process(hub)
    assert await mirrored(hub, honest["id"]) == ((4, 4), 8)


async def test_a_library_cannot_report_on_another_librarys_poll(hub, remote, bystander):
    lib = await followed(hub, remote, "lib", 2)
    other = await followed(hub, bystander, "other", 3)
    theirs = question(other, counts=(5, 5), stamp=time.time())
    await bystander.send(wrapped("Create", other, theirs), hub.inbox)
    await process(hub)

    forged = dict(theirs, countedAt=iso_precise(time.time() + 60), oneOf=[
        {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": 999}}
        for n in ("Eens", "Oneens")])
    statuses = [(await remote.send(wrapped("Update", lib, forged), hub.inbox))[0],
                (await remote.send(wrapped("Update", lib, dict(forged, attributedTo=lib)),
                                   hub.inbox))[0]]
    await process(hub)

    assert statuses == [403, 403]
    assert await mirrored(hub, theirs["id"]) == ((5, 5), 10)
    await still_serving(hub, remote, lib)


async def test_an_older_report_does_not_roll_back_but_a_newer_one_may_lower(hub, remote):
    lib = await followed(hub, remote, "lib", 2)
    now = time.time()
    first = wrapped("Update", lib, question(lib, counts=(5, 3), stamp=now))
    await remote.send(first, hub.inbox)
    await process(hub)

    late = wrapped("Update", lib, question(lib, counts=(1, 1), stamp=now - 60))
    same = wrapped("Update", lib, question(lib, counts=(9, 9), stamp=now))
    statuses = [(await remote.send(a, hub.inbox))[0] for a in (late, same, first)]
    await process(hub)
    assert statuses == [202, 202, 202]
    assert await mirrored(hub, question(lib)["id"]) == ((5, 3), 8)

    lower = wrapped("Update", lib, question(lib, counts=(4, 3), stamp=now + 1))
    await remote.send(lower, hub.inbox)
    await process(hub)
    assert await mirrored(hub, question(lib)["id"]) == ((4, 3), 7)


async def test_a_replayed_old_update_changes_nothing(hub, remote):
    lib = await followed(hub, remote, "lib", 2)
    now = time.time()
    old = wrapped("Update", lib, question(lib, counts=(1, 0), stamp=now))
    new = wrapped("Update", lib, question(lib, counts=(2, 0), stamp=now + 1))
    for activity in (old, new):
        await remote.send(activity, hub.inbox)
        await process(hub)

    replay = dict(old, id=f"{lib}#update/replayed")  # the same report under a new id
    statuses = [(await remote.send(old, hub.inbox))[0],
                (await remote.send(replay, hub.inbox))[0]]
    await process(hub)

    assert statuses == [202, 202]
    assert await mirrored(hub, question(lib)["id"]) == ((2, 0), 2)


async def test_questions_from_actors_the_hub_does_not_follow_are_ignored(hub, remote):
    alice = remote.actors["alice"]["id"]
    pending = await followed(hub, remote, "pending", 2, accept=False)

    statuses = [(await remote.send(wrapped("Create", actor, question(actor, stamp=time.time())),
                                   hub.inbox))[0] for actor in (alice, pending)]
    await process(hub)

    assert statuses == [202, 202]
    assert await hub.services.store.mirrored_polls() == []


async def test_a_forged_accept_from_a_third_party_is_refused(hub, remote, bystander):
    lib = await followed(hub, bystander, "lib", 2, accept=False)
    [follow] = [r.json for r in bystander.received if r.json["type"] == "Follow"]
    alice = remote.actors["alice"]["id"]

    embedded = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice}#accept/1",
                "type": "Accept", "actor": alice, "object": follow}
    by_id = dict(embedded, id=f"{alice}#accept/2", object=follow["id"])
    statuses = [(await remote.send(a, hub.inbox))[0] for a in (embedded, by_id)]
    await process(hub)

    assert statuses == [403, 202]  # by id alone it is ignored: only the followed answers
    [state] = [f.state for f in await hub.services.store.following("hub")]
    assert state == "pending"
    assert (await bystander.send({**embedded, "id": f"{lib}#accept", "actor": lib},
                                 hub.inbox))[0] == 202
    await process(hub)
    assert [f.state for f in await hub.services.store.following("hub")] == ["accepted"]


async def test_an_announce_claiming_tallies_changes_nothing(hub, remote, bystander):
    lib = await followed(hub, bystander, "lib", 2)
    report = question(lib, counts=(2, 1), stamp=time.time())
    await bystander.send(wrapped("Create", lib, report), hub.inbox)
    await process(hub)
    alice = remote.actors["alice"]["id"]
    claimed = dict(report, countedAt=iso_precise(time.time() + 60), oneOf=[
        {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": 500}}
        for n in ("Eens", "Oneens")])

    statuses = [(await remote.send(wrapped("Announce", alice, claimed), hub.inbox))[0],
                (await remote.send(wrapped("Announce", alice, report["id"]), hub.inbox))[0]]
    await process(hub)

    assert statuses == [403, 202]  # a boost by id is fine, and believed for nothing
    assert await mirrored(hub, report["id"]) == ((2, 1), 3)
    await still_serving(hub, bystander, lib)


async def test_a_question_without_our_stamp_counts_as_of_its_arrival(hub, remote):
    lib = await followed(hub, remote, "lib", 2)
    before = time.time()

    await remote.send(wrapped("Create", lib, question(lib, counts=(3, 1))), hub.inbox)
    await process(hub)

    held = await hub.services.store.mirrored_poll(question(lib)["id"])
    assert held is not None and held.counts == (3, 1)
    assert held.counted_at is not None and before <= held.counted_at <= time.time()


@pytest.mark.parametrize("change", [
    {"countedAt": "2099-01-01T00:00:00.000Z"},  # a stamp from the future would freeze it
    {"anyOf": [], "oneOf": None},
    {"content": ""},
    {"oneOf": [{"type": "Note", "name": "Eens", "replies": {"totalItems": -1}}]},
    {"oneOf": [{"type": "Note", "name": "Eens", "replies": {"totalItems": 1}},
               {"type": "Note", "name": "Eens", "replies": {"totalItems": 1}}]},
    {"oneOf": [{"type": "Note", "name": "Eens", "replies": {"totalItems": 1}},
               {"type": "Note", "name": "Oneens", "replies": {"totalItems": None}}]},
])
async def test_a_malformed_question_is_not_mirrored(hub, remote, change):
    lib = await followed(hub, remote, "lib", 2)
    doc = {k: v for k, v in {**question(lib, stamp=time.time()), **change}.items()
           if v is not None}

    status, _ = await remote.send(wrapped("Create", lib, doc), hub.inbox)
    await process(hub)

    assert status == 202
    assert await hub.services.store.mirrored_polls() == []
    await still_serving(hub, remote, lib)


async def test_a_deleted_library_poll_leaves_and_a_late_update_does_not_revive_it(hub, remote):
    lib = await followed(hub, remote, "lib", 2)
    poll = question(lib, stamp=time.time())
    await remote.send(wrapped("Create", lib, poll), hub.inbox)
    await process(hub)

    await remote.send(wrapped("Delete", lib, {"id": poll["id"], "type": "Tombstone"}), hub.inbox)
    await remote.send(wrapped("Update", lib, dict(poll, countedAt=iso_precise(time.time() + 5))),
                      hub.inbox)
    await process(hub)

    assert await hub.services.store.mirrored_polls() == []
