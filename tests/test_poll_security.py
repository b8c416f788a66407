"""Votes and replies under attack (security.md §9: A7, A14–A16, A20–A25, A35, A36, A41,
A44).

Every case is a real signed request to a real demo-mode instance. Each test checks
the exact status, the exact tallies and `votersCount`, what was stored as a reply,
and where it matters that the instance still serves: `/healthz` answers and an
honest vote from another host (dora@localhost) is counted. Tally Updates are driven
with an injected clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness import (
    FakeRemote,
    RunningInstance,
    process,
    shared_key,
    start_instance,
)
from test_polls_federation import new_poll, vote_from

from activitypub import httpsig
from activitypub.keys import private_key_pem, public_key_pem
from activitypub.vocab import PUBLIC, domain_of
from fediverse import polls, tallies
from fediverse.discussion import MAX_CONTENT_CHARS
from fediverse.incoming import InboxWorker
from fediverse.lifecycle import close_poll, publish_poll
from fediverse.polls import Poll, PollDraft
from fediverse.ratelimit import HostBudget
from fediverse.settings import Settings, SettingsError, load_settings
from fediverse.storage import LocalActor
from fediverse.tallies import TallyWorker

AS2 = "application/activity+json"
MiB = 1_048_576
DEBOUNCE = 60.0


# ---------------------------------------------------------------- servers


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Signed:
    url: str
    headers: dict[str, str]
    body: bytes


def signed(remote: FakeRemote, activity: dict[str, Any], url: str) -> Signed:
    """Signed once by the activity's actor, so that it can be replayed byte for byte."""
    body = json.dumps(activity).encode()
    actor = activity["actor"]
    headers = httpsig.sign("POST", url, {"Content-Type": AS2}, body,
                           key_id=f"{actor}#main-key", private_key=remote.keys[actor],
                           now=datetime.now(UTC))
    return Signed(url, headers, body)


async def post(request: Signed, session: aiohttp.ClientSession | None = None,
               ) -> tuple[int, dict[str, str]]:
    async def send(client: aiohttp.ClientSession) -> tuple[int, dict[str, str]]:
        async with client.post(request.url, data=request.body,
                               headers=request.headers) as response:
            await response.read()
            return response.status, dict(response.headers)
    if session is not None:
        return await send(session)
    async with aiohttp.ClientSession() as own:
        return await send(own)


async def post_all(requests: list[Signed], concurrency: int = 32) -> list[int]:
    """POST concurrently over one session; the statuses in order."""
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        async def one(request: Signed) -> int:
            async with gate:
                return (await post(request, session))[0]
        return list(await asyncio.gather(*(one(r) for r in requests)))


async def get(url: str, accept: str = "text/html") -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Accept": accept}) as response:
        return response.status, dict(response.headers), await response.text()


def vote(remote: FakeRemote, instance: RunningInstance, poll: Poll, name: str,
         actor: str = "alice", n: int = 1) -> dict[str, Any]:
    return vote_from(remote, instance, poll, name, actor=actor, n=n)


def reply(remote: FakeRemote, instance: RunningInstance, poll: Poll, content: str,
          actor: str = "alice", n: int = 1) -> dict[str, Any]:
    """Mastodon's captured reply from `actor`, with its own note id."""
    activity = remote.fixture("mastodon-reply.json", instance, actor=actor)
    note = activity["object"]
    note["inReplyTo"] = f"{instance.url}/polls/{poll.id}"
    note["id"] = f"{remote.base}/users/{actor}/statuses/{n}"
    note["content"] = content
    activity["id"] = f"{note['id']}/activity"
    return activity


# ---------------------------------------------------------------- state


async def tally(instance: RunningInstance, poll: Poll) -> tuple[tuple[int, ...], int]:
    found = await instance.services.store.tally(poll.id)
    return found.counts, found.voters


async def replies(instance: RunningInstance, poll: Poll) -> list[str]:
    return [r.content for r in await instance.services.store.replies(poll.id, "visible")]


async def outbox_types(instance: RunningInstance) -> list[str]:
    bodies = await instance.services.store.public_outbox(instance.username, 1000)
    return sorted(json.loads(body)["type"] for body in bodies)


async def deliveries(instance: RunningInstance) -> int:
    return sum((await instance.services.store.delivery_counts()).values())


def tally_worker(instance: RunningInstance) -> tuple[TallyWorker, list[float]]:
    """A tally worker on a clock the test moves; it starts at the real now."""
    now = [time.time()]
    return TallyWorker(instance.services, debounce_seconds=DEBOUNCE, clock=lambda: now[0]), now


def updates(remote: FakeRemote) -> list[dict[str, Any]]:
    return [r.json for r in remote.received if r.json["type"] == "Update"]


async def assert_serving(instance: RunningInstance, bystander: FakeRemote) -> None:
    """Up: health answers, and an honest vote from another host is counted."""
    assert (await get(f"{instance.url}/healthz"))[0] == 200
    poll = await new_poll(instance)
    status, _ = await bystander.send(vote(bystander, instance, poll, "Eens", "dora"),
                                     instance.inbox)
    await process(instance)
    assert status == 202
    assert await tally(instance, poll) == ((1, 0), 1)


# ---------------------------------------------------------------- A7: replays


async def test_replayed_vote_is_accepted_each_time_and_counted_once_with_one_update(
        instance, remote):
    # Given an accepted signed vote
    poll = await new_poll(instance)
    request = signed(remote, vote(remote, instance, poll, "Eens"), instance.inbox)
    first, _ = await post(request)

    # When the same bytes are replayed once, then 50 times at once
    again, _ = await post(request)
    flood = await post_all([request] * 50, concurrency=50)
    await process(instance)

    # Then every copy gets 202, one vote counts, and one tally Update is owed
    assert [first, again, *flood] == [202] * 52
    assert await instance.services.store.inbox_activity_count() == 1
    assert await tally(instance, poll) == ((1, 0), 1)
    worker, now = tally_worker(instance)
    assert await worker.run_once() == 0  # within the debounce window
    now[0] += DEBOUNCE + 1
    assert [await worker.run_once() for _ in range(3)] == [1, 0, 0]
    assert await outbox_types(instance) == ["Create", "Update"]
    assert await deliveries(instance) == 1  # alice's server, once
    await instance.services.delivery.run_once()
    [update] = updates(remote)
    assert update["object"]["votersCount"] == 1


async def test_same_vote_under_a_new_activity_id_counts_once(instance, remote):
    # Given a counted vote
    poll = await new_poll(instance)
    first = vote(remote, instance, poll, "Eens")
    await remote.send(first, instance.inbox)

    # When its Note comes again wrapped in another Create
    status, _ = await remote.send({**first, "id": f"{first['id']}/again"}, instance.inbox)
    await process(instance)

    # Then it is stored as a second activity but not counted a second time
    assert status == 202
    assert await instance.services.store.inbox_activity_count() == 2
    assert await tally(instance, poll) == ((1, 0), 1)


# ---------------------------------------------------------------- A14, A15: origin


def _note_on(host_of_note: Callable[[FakeRemote, RunningInstance], str], kind: str = "vote"):
    def build(remote: FakeRemote, instance: RunningInstance, poll: Poll) -> dict[str, Any]:
        activity = (vote(remote, instance, poll, "Eens") if kind == "vote"
                    else reply(remote, instance, poll, "<p>Eens</p>"))
        activity["object"]["id"] = f"{host_of_note(remote, instance)}/notes/{uuid.uuid4()}"
        return activity
    return build


def _attributed_to(author: Callable[[FakeRemote, RunningInstance], str], kind: str = "vote"):
    def build(remote: FakeRemote, instance: RunningInstance, poll: Poll) -> dict[str, Any]:
        activity = (vote(remote, instance, poll, "Eens") if kind == "vote"
                    else reply(remote, instance, poll, "<p>Namens de bieb</p>"))
        activity["object"]["attributedTo"] = author(remote, instance)
        return activity
    return build


NOT_THE_SENDERS = {
    "A14 vote whose note is on our host": _note_on(lambda r, i: i.url),
    "A14 vote whose note is on a third host": _note_on(lambda r, i: "https://third.test"),
    "A14 reply whose note is on our host": _note_on(lambda r, i: i.url, "reply"),
    "A14 reply whose note is on a third host": _note_on(lambda r, i: "https://third.test",
                                                        "reply"),
    "A15 vote attributed to our library": _attributed_to(lambda r, i: i.actor_id),
    "A15 reply attributed to our library": _attributed_to(lambda r, i: i.actor_id, "reply"),
    "A15 vote attributed to bob": _attributed_to(lambda r, i: f"{r.base}/users/bob"),
    "A15 reply attributed to bob": _attributed_to(lambda r, i: f"{r.base}/users/bob",
                                                  "reply"),
}


@pytest.mark.parametrize("make", NOT_THE_SENDERS.values(), ids=list(NOT_THE_SENDERS))
async def test_vote_or_reply_that_is_not_the_senders_own_is_refused_with_403(
        instance, remote, bystander, make):
    # Given a poll, and alice signing a Note that is not hers
    poll = await new_poll(instance)

    # When she sends it
    status, _ = await remote.send(make(remote, instance, poll), instance.inbox)
    await process(instance)

    # Then it is refused and nothing is counted, stored or shown
    assert status == 403
    assert await instance.services.store.inbox_activity_count() == 0
    assert await tally(instance, poll) == ((0, 0), 0)
    assert await replies(instance, poll) == []
    await assert_serving(instance, bystander)


# ---------------------------------------------------------------- A16: others' objects


async def test_alice_cannot_delete_or_edit_bobs_reply(instance, remote):
    # Given bob's reply, and alice on the same server
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    bobs = reply(remote, instance, poll, "<p>Bob vindt van wel.</p>", actor="bob")
    await remote.send(bobs, instance.inbox)
    await process(instance)
    note_id = bobs["object"]["id"]
    delete = remote.fixture("mastodon-delete-note.json", instance)
    delete["object"]["id"] = note_id
    edit = remote.fixture("mastodon-update-note.json", instance)
    edit["object"].update(id=note_id, content="<p>Bob vindt van niet.</p>")

    # When alice deletes it and edits it (her own host, so the origin rule lets it in)
    statuses = [(await remote.send(a, instance.inbox))[0] for a in (delete, edit)]
    await process(instance)

    # Then both are acknowledged and ignored: bob's reply is intact, not tombstoned
    assert statuses == [202, 202]
    assert await replies(instance, poll) == ["<p>Bob vindt van wel.</p>"]
    assert not await instance.services.store.is_object_tombstoned(note_id)


async def test_update_of_our_question_from_a_remote_actor_is_refused_with_403(
        instance, remote, bystander):
    # Given our poll with a vote, as it is served
    poll = await new_poll(instance)
    await remote.send(vote(remote, instance, poll, "Oneens"), instance.inbox)
    await process(instance)
    _, _, served = await get(f"{instance.url}/polls/{poll.id}", AS2)
    forged = json.loads(served)
    forged.pop("@context")
    forged.update(content="<p>Gehackt</p>", votersCount=9999, attributedTo=remote.actors[
        "alice"]["id"], oneOf=[{"type": "Note", "name": name, "replies": {
            "type": "Collection", "totalItems": 9999}} for name in ("Ja", "Nee")])
    update = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": f"{remote.base}/updates/{uuid.uuid4()}", "type": "Update",
              "actor": remote.actors["alice"]["id"], "object": forged}

    # When alice sends an Update of it
    status, _ = await remote.send(update, instance.inbox)
    await process(instance)

    # Then it is refused, and the poll, its counts and its document are unchanged
    # (but for the stamp of when the counts were read)
    assert status == 403
    assert await instance.services.store.poll(poll.id) == poll
    assert await tally(instance, poll) == ((0, 1), 1)
    again = json.loads((await get(f"{instance.url}/polls/{poll.id}", AS2))[2])
    assert {**again, "countedAt": None} == {**json.loads(served), "countedAt": None}
    await assert_serving(instance, bystander)


# ---------------------------------------------------------------- A20, A21: what counts


@pytest.mark.parametrize("name", ["eens", "Eens ", " Eens", "Eens\u200b", "Misschien",
                                  "<b>Eens</b>", ""],
                         ids=["case", "trailing space", "leading space", "zero width",
                              "injected option", "markup", "empty"])
async def test_vote_naming_no_option_exactly_is_ignored_and_not_a_reply(
        instance, remote, name):
    # Given a poll with Eens / Oneens
    poll = await new_poll(instance)

    # When alice votes for something that is not exactly an option
    status, _ = await remote.send(vote(remote, instance, poll, name), instance.inbox)
    await process(instance)

    # Then it is acknowledged, not counted, and not shown as a reply
    assert status == 202
    assert await tally(instance, poll) == ((0, 0), 0)
    assert await replies(instance, poll) == []


async def test_second_single_choice_vote_with_another_note_is_not_counted(instance, remote):
    # Given alice voted Eens on a single-choice poll
    poll = await new_poll(instance)
    await remote.send(vote(remote, instance, poll, "Eens"), instance.inbox)

    # When she votes Oneens in another Note, and Eens again in a third
    second = await remote.send(vote(remote, instance, poll, "Oneens", n=2), instance.inbox)
    third = await remote.send(vote(remote, instance, poll, "Eens", n=3), instance.inbox)
    await process(instance)

    # Then the first vote stands alone
    assert (second[0], third[0]) == (202, 202)
    assert await tally(instance, poll) == ((1, 0), 1)


async def test_same_choice_twice_on_a_multiple_choice_poll_counts_once(instance, remote):
    # Given a multiple-choice poll
    poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"), multiple=True)

    # When alice votes Boeken in two Notes and Films in one
    for n, name in enumerate(["Boeken", "Boeken", "Films"]):
        await remote.send(vote(remote, instance, poll, name, n=n), instance.inbox)
    await process(instance)

    # Then each option counts once, and she is one voter
    assert await tally(instance, poll) == ((1, 1, 0), 1)


@pytest.mark.parametrize(("multiple", "expected"), [
    (False, None), (True, ((1, 1, 1), 1))], ids=["oneOf", "anyOf"])
async def test_twenty_concurrent_votes_by_one_actor_count_once(
        instance, remote, multiple, expected):
    # Given a poll with three options
    poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"), multiple=multiple)
    names = ["Boeken", "Films", "Muziek"]
    votes = [signed(remote, vote(remote, instance, poll, names[n % 3], n=n), instance.inbox)
             for n in range(20)]

    # When alice sends 20 different votes at once, and three workers apply them at once
    statuses = await post_all(votes, concurrency=20)
    await asyncio.gather(*(InboxWorker(instance.services).run_once() for _ in range(3)))

    # Then each is acknowledged, and the database lets one vote (per option) count
    assert statuses == [202] * 20
    counts, voters = await tally(instance, poll)
    if expected is None:
        assert (sorted(counts), voters) == ([0, 0, 1], 1)
    else:
        assert (counts, voters) == expected


# ---------------------------------------------------------------- A22: votes that cannot count


async def test_vote_after_the_end_time_is_ignored(instance, remote):
    # Given a poll whose end time has passed
    poll = await new_poll(instance)
    await instance.services.store.set_poll_end(poll.id, time.time() - 1, None)

    # When alice votes
    status, _ = await remote.send(vote(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)

    # Then it is consumed silently: neither a vote nor a reply
    assert status == 202
    assert await tally(instance, poll) == ((0, 0), 0)
    assert await replies(instance, poll) == []


async def test_vote_after_an_early_close_is_ignored(instance, remote):
    # Given a poll with one vote, closed early
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    await remote.send(vote(remote, instance, poll, "Oneens", "bob"), instance.inbox)
    await process(instance)
    await close_poll(instance.services, poll.id)

    # When alice votes
    status, _ = await remote.send(vote(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)

    # Then only bob's vote counts
    assert status == 202
    assert await tally(instance, poll) == ((0, 1), 1)


async def test_the_polls_own_actor_cannot_vote(instance, remote):
    # Given our poll
    poll = await new_poll(instance)
    now = time.time()
    forged = vote(remote, instance, poll, "Eens")
    forged.update(actor=instance.actor_id, id=f"{instance.url}/activities/{uuid.uuid4()}")
    forged["object"].update(attributedTo=instance.actor_id, id=f"{instance.url}/notes/1")

    # When the rule is asked about our own actor, and alice signs a vote in its name
    own = polls.refusal(poll, instance.actor_id, now, instance.actor_id)
    theirs = polls.refusal(poll, remote.actors["alice"]["id"], now, instance.actor_id)
    status, _ = await remote.send(forged, instance.inbox, actor=remote.actors["alice"]["id"])

    # Then our actor may not vote, a remote actor may, and nobody can sign as ours
    assert own == "the poll's own actor cannot vote"
    assert theirs is None
    assert status == 401
    assert await tally(instance, poll) == ((0, 0), 0)


async def second_actor(instance: RunningInstance, username: str = "jeugd") -> str:
    """Another local actor on the instance (as `peiling init` adds); its personal inbox."""
    key = shared_key(1)
    await instance.services.store.create_local_actor(LocalActor(
        username, "Jeugdbibliotheek", "", private_key_pem(key), public_key_pem(key)),
        time.time())
    return f"{instance.url}/users/{username}/inbox"


@pytest.mark.parametrize(("inbox", "expected"), [
    ("another actor's", ((0, 0), 0)), ("shared", ((1, 0), 1)), ("the poll owner's", ((1, 0), 1))])
async def test_a_vote_counts_at_the_shared_inbox_or_the_poll_owners_only(
        instance, remote, inbox, expected):
    # Given bieb's poll, and jeugd, a second actor on the same instance
    poll = await new_poll(instance)
    url = {"another actor's": await second_actor(instance), "shared": f"{instance.url}/inbox",
           "the poll owner's": instance.inbox}[inbox]

    # When alice sends her vote to that inbox
    status, _ = await remote.send(vote(remote, instance, poll, "Eens"), url)
    counted_on_arrival = await tally(instance, poll)
    await process(instance)

    # Then it is acknowledged; at jeugd's inbox it counts neither on arrival nor
    # after the worker has seen it, and is no reply either
    assert status == 202
    assert counted_on_arrival == expected
    assert await tally(instance, poll) == expected
    assert await replies(instance, poll) == []
    assert await instance.services.store.pending_inbox_activities(10) == []


@pytest.mark.parametrize("shape", ["behind a waiting reply", "two notes in one Create"])
async def test_a_vote_the_worker_applies_at_another_actors_inbox_is_ignored(
        instance, remote, shape):
    # Given bieb's poll, jeugd's personal inbox, and bob's vote that the inbox worker
    # applies: it arrives while alice's reply waits, or it is GoToSocial's shape
    poll = await new_poll(instance)
    jeugd_inbox = await second_actor(instance)
    remote.add_actor("bob", 2)
    activity = vote(remote, instance, poll, "Eens", "bob")
    if shape == "behind a waiting reply":
        assert (await remote.send(reply(remote, instance, poll, "<p>Eens</p>"),
                                  instance.inbox))[0] == 202
    else:
        note = activity["object"]
        activity["object"] = [note, {**note, "id": f"{note['id']}-2", "name": "Oneens"}]

    # When bob sends it to jeugd's inbox, and the worker runs
    status, _ = await remote.send(activity, jeugd_inbox)
    waiting = [a.id for a in await instance.services.store.pending_inbox_activities(10)]
    await process(instance)

    # Then it waited for the worker, which did not count it
    assert status == 202
    assert activity["id"] in waiting
    assert await tally(instance, poll) == ((0, 0), 0)
    assert await instance.services.store.pending_inbox_activities(10) == []


@pytest.mark.parametrize("target", [
    "{actor}", "{poll}/replies", "{poll}/activity", "{url}/polls/999999", "{url}/@bieb/polls",
    "{url}/polls/{id}x", "{url}/polls/", "{url}/"])
@pytest.mark.parametrize("kind", ["vote", "reply"])
async def test_note_in_reply_to_something_of_ours_that_is_not_a_poll_is_ignored(
        instance, remote, target, kind):
    # Given a poll, and a Note answering another URL of ours
    poll = await new_poll(instance)
    poll_url = f"{instance.url}/polls/{poll.id}"
    activity = (vote(remote, instance, poll, "Eens") if kind == "vote"
                else reply(remote, instance, poll, "<p>Eens</p>"))
    activity["object"]["inReplyTo"] = target.format(actor=instance.actor_id, poll=poll_url,
                                                    url=instance.url, id=poll.id)

    # When alice sends it
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then it is acknowledged and neither counted nor shown
    assert status == 202
    assert await tally(instance, poll) == ((0, 0), 0)
    assert await replies(instance, poll) == []


# ---------------------------------------------------------------- shapes peers send


def _addressed(*to: str) -> Callable[[dict[str, Any], RunningInstance], None]:
    def change(activity: dict[str, Any], instance: RunningInstance) -> None:
        activity["to"] = activity["object"]["to"] = list(to) or instance.actor_id
    return change


def _with_ld_signature(activity: dict[str, Any], instance: RunningInstance) -> None:
    activity["signature"] = {"type": "RsaSignature2017", "creator": f"{activity['actor']}#main-key",
                             "created": "2026-08-01T10:00:00Z", "signatureValue": "c2lnbmVk"}


def _long_context(activity: dict[str, Any], instance: RunningInstance) -> None:
    activity["@context"] = ["https://www.w3.org/ns/activitystreams",
                            "https://w3id.org/security/v1",
                            *({f"term{i}": f"https://ns{i}.example/#"} for i in range(60)),
                            "https://w3id.org/security/data-integrity/v1"]


def _note_type(kind: Any) -> Callable[[dict[str, Any], RunningInstance], None]:
    def change(activity: dict[str, Any], instance: RunningInstance) -> None:
        activity["object"]["type"] = kind
    return change


def _embedded_in_reply_to(activity: dict[str, Any], instance: RunningInstance) -> None:
    note = activity["object"]
    note["inReplyTo"] = {"id": note["inReplyTo"], "type": "Question"}


def _with_content(activity: dict[str, Any], instance: RunningInstance) -> None:
    activity["object"]["content"] = "<p>Eens</p>"  # Mastodon counts it: content is not checked


SHAPES = {
    "to a string": lambda activity, instance: None,
    "to an array": _addressed(),
    "public by IRI": _addressed(PUBLIC),
    "public as as:Public": _addressed("as:Public"),
    "public as Public": _addressed("Public"),
    "RsaSignature2017 attached": _with_ld_signature,
    "long @context": _long_context,
    "Answer": _note_type("Answer"),
    "type array": _note_type(["Note"]),
    "inReplyTo embedded": _embedded_in_reply_to,
    "with content": _with_content,
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=list(SHAPES))
async def test_vote_in_any_shape_peers_send_is_counted(instance, remote, shape):
    # Given a vote written the way some peer writes it
    poll = await new_poll(instance)
    activity = vote(remote, instance, poll, "Eens")
    shape(activity, instance)

    # When it arrives
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then it counts, and is not a reply
    assert status == 202
    assert await tally(instance, poll) == ((1, 0), 1)
    assert await replies(instance, poll) == []


async def test_create_with_several_vote_notes_counts_each(instance, remote):
    # Given a multiple-choice poll and one Create carrying two votes
    poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"), multiple=True)
    activity = vote(remote, instance, poll, "Boeken")
    second = vote(remote, instance, poll, "Muziek", n=2)["object"]
    activity["object"] = [activity["object"], second]

    # When it arrives
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then both count, for one voter
    assert status == 202
    assert await tally(instance, poll) == ((1, 0, 1), 1)


# ---------------------------------------------------------------- A23–A25: markup


HOSTILE_HTML = {
    "script": "<p>a</p><script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(2)>b",
    "javascript link": '<a href="javascript:alert(3)">c</a>',
    "obfuscated javascript link": '<a href="  JaVaScRiPt&#x09;:alert(4)">d</a>',
    "iframe": '<iframe src="https://evil.example/" srcdoc="<script>alert(5)</script>">e</iframe>',
    "svg onload": "<svg onload=alert(6)><circle r=1 /></svg>f",
    "style attribute": '<p style="background:url(https://evil.example/x)">g</p>',
    "style element": "<style>body{display:none}</style>h",
    "data link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==">i</a>',
    "data image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoOCk+">j',
    "nested and unclosed": "<div><p><b>k<i>l</b>m</p><blockquote><ul><li><a>n",
    "script split by a tag": "<scr<script>x</script>ipt>o",
    "mXSS via math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(9)>",
    "noscript attribute": '<noscript><p title="</noscript><img src=x onerror=alert(10)>">',
    "event on an allowed tag": '<a href="https://ok.example/" onclick="alert(11)">p</a>',
    "object, embed, form": ('<object data="x.swf"></object><embed src="x.swf">'
                            '<form action="https://evil.example/"><button>q</button></form>'),
    "base and meta refresh": ('<base href="https://evil.example/"><meta http-equiv="refresh"'
                              ' content="0;url=https://evil.example/">r'),
}

EXECUTABLE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
                   "math", "img", "base", "form", "input", "button", "noscript", "template"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href",
                  "background", "poster"}
OUR_FORM_TAGS = {"<form>", "<input>", "<button>"}  # the poll page's vote and comment forms
REPLY_TAGS = {"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "ul", "ol",
              "li", "blockquote", "code", "pre"}


class Markup(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def executable(html: str) -> list[str]:
    """What in `html` could run or load something: empty for inert markup."""
    found = []
    for tag, attrs in Markup(html).tags:
        if tag in EXECUTABLE_TAGS:
            found.append(f"<{tag}>")
        if tag == "meta" and "http-equiv" in attrs:
            found.append("<meta http-equiv>")
        for name, value in attrs.items():
            plain = "".join(value.split()).lower()
            if name.startswith("on"):
                found.append(f"{tag} {name}=")
            if name in URL_ATTRIBUTES and not plain.startswith(("http://", "https://", "/")):
                found.append(f"{tag} {name}={value!r}")
            if name == "style" and not (tag == "span" and plain.startswith("width:")):
                found.append(f"{tag} style=")
    return found


async def test_hostile_reply_markup_reaches_no_output(instance, remote):
    # Given a poll
    poll = await new_poll(instance)

    # When alice replies once with each kind of hostile markup
    statuses = [(await remote.send(reply(remote, instance, poll, html, n=n),
                                   instance.inbox))[0]
                for n, html in enumerate(HOSTILE_HTML.values())]
    await process(instance)
    worker, now = tally_worker(instance)
    await remote.send(vote(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)
    now[0] += DEBOUNCE + 1
    await worker.run_once()  # an Update re-federates the Question
    stored = await replies(instance, poll)
    _, headers, page = await get(f"{instance.url}/polls/{poll.id}")
    _, _, question = await get(f"{instance.url}/polls/{poll.id}", AS2)
    _, _, collection = await get(f"{instance.url}/polls/{poll.id}/replies", AS2)
    _, _, outbox = await get(f"{instance.url}/users/bieb/outbox", AS2)

    # Then each is accepted and stored, and nothing executable is left anywhere
    assert statuses == [202] * len(HOSTILE_HTML)
    assert len(stored) == len(HOSTILE_HTML)
    for content in stored:
        assert executable(content) == [], content
        assert {tag for tag, _ in Markup(content).tags} <= REPLY_TAGS, content
        assert "javascript" not in content.lower() and "data:" not in content
        assert "alert" not in content and "evil.example" not in content
    discussion = page.split('id="replies-title"', 1)[1].split('id="comment-form-title"', 1)[0]
    assert executable(discussion) == []
    assert [t for t in executable(page) if t not in OUR_FORM_TAGS] == []  # the page's own forms
    assert page.count("<style") == 1  # the page's own stylesheet
    for text in (page, question, collection, outbox):
        assert "alert(" not in text and "evil.example" not in text
    assert json.loads(question)["replies"]["totalItems"] == len(HOSTILE_HTML)
    assert sorted(json.loads(collection)["orderedItems"]) == sorted(
        f"{remote.base}/users/alice/statuses/{n}" for n in range(len(HOSTILE_HTML)))
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "object-src 'none'" in headers["Content-Security-Policy"]


async def test_markup_in_plain_text_fields_is_shown_escaped(instance, remote):
    # Given a poll whose question and first option carry markup, and mallory whose
    # display name is an image with a handler
    poll = await publish_poll(instance.services, "bieb", PollDraft(
        question="Is <i>dit</i> veilig?", end_time=time.time() + 86400,
        options=("<b>Yes</b>", "No")))
    remote.add_actor("mallory", 2)
    remote.actors["mallory"]["name"] = "<img src=x onerror=alert(1)>"
    mallory_reply = reply(remote, instance, poll, "<p>gewoon</p>", actor="mallory")
    mallory_reply["object"]["summary"] = "</p><script>alert(2)</script>"

    # When mallory votes `<b>Yes</b>` and replies under a hostile content warning
    for activity in (vote(remote, instance, poll, "<b>Yes</b>", "mallory"), mallory_reply):
        assert (await remote.send(activity, instance.inbox))[0] == 202
    await process(instance)
    _, _, page = await get(f"{instance.url}/polls/{poll.id}")
    _, _, served = await get(f"{instance.url}/polls/{poll.id}", AS2)
    question = json.loads(served)

    # Then the vote counts, and every field shows as literal, escaped text
    assert await tally(instance, poll) == ((1, 0), 1)
    assert [t for t in executable(page) if t not in OUR_FORM_TAGS] == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Yes&lt;/b&gt; (1 stem) 100%" in page
    assert "Is &lt;i&gt;dit&lt;/i&gt; veilig?" in page
    assert "<b>Yes</b>" not in page and "<i>dit</i>" not in page
    assert "alert(2)" not in page
    assert question["content"].startswith("<p>Is &lt;i&gt;dit&lt;/i&gt; veilig?</p>")
    assert [o["name"] for o in question["oneOf"]] == ["<b>Yes</b>", "No"]  # plain text


async def test_poll_page_names_its_own_url_whatever_the_host_header(instance):
    # Given a poll
    poll = await new_poll(instance)

    # When someone asks for its page under another Host (a forger, or a proxy's view)
    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.url}/polls/{poll.id}",
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}) as response:
        status, page = response.status, await response.text()

    # Then the page links the poll's one canonical id, never the forged host
    assert status == 200
    assert "evil.example" not in page
    assert f'type="application/activity+json" href="{instance.url}/polls/{poll.id}"' in page


async def test_reply_of_a_mebibyte_is_accepted_and_stored_capped(instance, remote, bystander):
    # Given a reply whose body is just under the inbox cap
    poll = await new_poll(instance)
    activity = reply(remote, instance, poll, "")
    room = MiB - len(json.dumps(activity).encode()) - len("<p></p>") - 100
    text = ("lorem ipsum " * (room // 12 + 1))[:room]
    activity["object"]["content"] = f"<p>{text}</p>"
    body = json.dumps(activity).encode()
    assert MiB - 200 < len(body) <= MiB

    # When it arrives
    started = time.monotonic()
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then it is accepted and stored cut to the content cap
    assert status == 202
    assert await replies(instance, poll) == [f"<p>{text[:MAX_CONTENT_CHARS - 3]}</p>"]
    assert time.monotonic() - started < 5
    await assert_serving(instance, bystander)


async def test_reply_with_ten_thousand_mentions_is_handled_quickly(instance, remote, bystander):
    # Given a reply tagging 10,000 accounts
    poll = await new_poll(instance)
    activity = reply(remote, instance, poll, "<p>Hallo allemaal</p>")
    activity["object"]["tag"] = [
        {"type": "Mention", "href": f"https://m{n}.example/users/u{n}", "name": f"@u{n}"}
        for n in range(10_000)]

    # When it arrives
    started = time.monotonic()
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then it is stored like any reply, soon, and nobody was fetched
    assert status == 202
    assert await replies(instance, poll) == ["<p>Hallo allemaal</p>"]
    assert time.monotonic() - started < 5
    assert remote.gets == ["/users/alice"]
    await assert_serving(instance, bystander)


# ---------------------------------------------------------------- A36: deletes


async def test_deleted_actor_loses_votes_and_replies_and_one_update_is_owed(instance, remote):
    # Given alice voted twice and replied, bob voted, and their Update went out
    poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"), multiple=True)
    remote.add_actor("bob", 2)
    for activity in (vote(remote, instance, poll, "Boeken"),
                     vote(remote, instance, poll, "Films", n=2),
                     reply(remote, instance, poll, "<p>Ik lees graag.</p>"),
                     vote(remote, instance, poll, "Boeken", "bob")):
        await remote.send(activity, instance.inbox)
    await process(instance)
    assert await tally(instance, poll) == ((2, 1, 0), 2)
    worker, now = tally_worker(instance)
    now[0] += DEBOUNCE + 1
    assert await worker.run_once() == 1

    # When alice's account is deleted
    status, _ = await remote.send(remote.fixture("mastodon-delete-actor.json", instance),
                                  instance.inbox)
    await process(instance)

    # Then her votes and reply are gone, the tallies recounted, one Update owed
    assert status == 202
    assert await tally(instance, poll) == ((1, 0, 0), 1)
    assert await replies(instance, poll) == []
    now[0] = time.time()
    assert await worker.run_once() == 0  # debounced
    now[0] += DEBOUNCE + 1
    assert [await worker.run_once() for _ in range(2)] == [1, 0]
    assert await outbox_types(instance) == ["Create", "Update", "Update"]
    await instance.services.delivery.run_once()
    before, after = sorted((u["object"] for u in updates(remote)),
                           key=lambda question: -question["votersCount"])
    assert (before["votersCount"], before["replies"]["totalItems"]) == (2, 1)
    assert (after["votersCount"], after["replies"]["totalItems"]) == (1, 0)
    assert [o["replies"]["totalItems"] for o in after["anyOf"]] == [1, 0, 0]


@pytest.mark.parametrize("kind", ["reply", "vote"])
async def test_note_deleted_before_it_arrives_is_not_stored(instance, remote, kind):
    # Given alice's Delete of a Note we have not seen
    poll = await new_poll(instance)
    activity = (reply(remote, instance, poll, "<p>Toch niet.</p>") if kind == "reply"
                else vote(remote, instance, poll, "Eens"))
    delete = remote.fixture("mastodon-delete-note.json", instance)
    delete["object"]["id"] = activity["object"]["id"]
    deleted, _ = await remote.send(delete, instance.inbox)
    await process(instance)

    # When its Create arrives after it
    status, _ = await remote.send(activity, instance.inbox)
    await process(instance)

    # Then the Note stays deleted: no reply, no vote
    assert (deleted, status) == (202, 202)
    assert await replies(instance, poll) == []
    assert await tally(instance, poll) == ((0, 0), 0)


async def test_tally_updates_keep_flowing_after_a_failed_tick(instance, remote, monkeypatch):
    # Given a vote owed an Update, and a database that is locked on the first tick
    poll = await new_poll(instance)
    await remote.send(vote(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)
    store = instance.services.store
    take_due_tallies, calls = store.take_due_tallies, []

    async def locked_once(dirty_before: float) -> list[int]:
        calls.append(dirty_before)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return await take_due_tallies(dirty_before)
    monkeypatch.setattr(store, "take_due_tallies", locked_once)
    monkeypatch.setattr(tallies, "TICK_SECONDS", 0.01)
    published, publish = asyncio.Event(), instance.services.outbox.publish

    async def noted(*args: Any, **kwargs: Any) -> int:
        seq = await publish(*args, **kwargs)
        published.set()
        return seq
    monkeypatch.setattr(instance.services.outbox, "publish", noted)
    worker = TallyWorker(instance.services, debounce_seconds=DEBOUNCE,
                         clock=lambda: time.time() + DEBOUNCE + 1)

    # When the worker runs as it does while serving
    task = asyncio.create_task(worker.run_forever())
    try:
        async with asyncio.timeout(5):
            await published.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # Then the failed tick was survived and the one Update went out on the next
    assert len(calls) >= 2
    assert await outbox_types(instance) == ["Create", "Update"]


# ---------------------------------------------------------------- A41: privacy


async def test_public_documents_show_counts_but_never_who_voted(instance, remote):
    # Given votes by three actors and the tally Update they caused
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    remote.add_actor("carol", 3)
    for name, choice in (("alice", "Eens"), ("bob", "Oneens"), ("carol", "Eens")):
        await remote.send(vote(remote, instance, poll, choice, name), instance.inbox)
    await process(instance)
    worker, now = tally_worker(instance)
    now[0] += DEBOUNCE + 1
    assert await worker.run_once() == 1

    # When anyone fetches the Question, its replies, the outbox and the page
    base = f"{instance.url}/polls/{poll.id}"
    fetched = [await get(base, AS2), await get(f"{base}/replies", AS2),
               await get(f"{instance.url}/users/bieb/outbox", AS2), await get(base)]

    # Then each shows the counts, and no voter, vote or voters' server appears
    assert [status for status, _, _ in fetched] == [200, 200, 200, 200]
    for _, _, text in fetched:
        assert remote.host not in text
        assert "alice" not in text and "#votes" not in text
    question, collection, outbox, page = (text for _, _, text in fetched)
    assert json.loads(question)["votersCount"] == 3
    assert json.loads(collection)["totalItems"] == 0
    [update] = [a for a in json.loads(outbox)["orderedItems"] if a["type"] == "Update"]
    assert update["object"]["votersCount"] == 3
    assert "3 deelnemers" in page and "Eens (2 stemmen) 67%" in page


# ---------------------------------------------------------------- A44: many voters


async def test_three_hundred_voters_count_exactly_with_one_update_per_inbox_per_window(
        instance):
    # Given 300 actors on two servers (four keys shared between them) and a poll
    servers = [await FakeRemote().start() for _ in range(2)]
    try:
        poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"))
        options = ("Boeken", "Films", "Muziek")
        votes = []
        for n in range(300):
            server = servers[n % 2]
            server.add_actor(f"voter{n}", key_index=n % 4)
            votes.append(signed(server, vote(server, instance, poll, options[n % 3],
                                             f"voter{n}"), instance.inbox))
        worker, now = tally_worker(instance)

        # When they all vote in one debounce window, the tally worker ticking meanwhile
        statuses, ticks = [], []
        for start in range(0, 300, 50):
            statuses += await post_all(votes[start:start + 50])
            await process(instance)
            now[0] = time.time()
            ticks.append(await worker.run_once())
        now[0] += DEBOUNCE + 1
        ticks += [await worker.run_once() for _ in range(3)]
        await instance.services.delivery.run_once()

        # Then all count exactly, and each server gets one Update for the window
        assert statuses == [202] * 300
        assert await tally(instance, poll) == ((100, 100, 100), 300)
        assert ticks == [0] * 6 + [1, 0, 0]
        assert await deliveries(instance) == 2  # the two shared inboxes, not 300
        for server in servers:
            [update] = updates(server)
            assert update["object"]["votersCount"] == 300
            assert [o["replies"]["totalItems"] for o in update["object"]["oneOf"]] == [
                100, 100, 100]
    finally:
        for server in servers:
            await server.stop()


# ---------------------------------------------------------------- A35: per-host budget


async def test_host_over_its_inbox_budget_gets_429_and_nothing_is_stored(
        tmp_path: Path, remote, bystander):
    # Given an instance that takes 5 activities a minute from one host, and six
    # accounts on one server
    instance = await start_instance(tmp_path, inbox_budget_per_host_per_minute=5)
    try:
        poll = await new_poll(instance)
        for n in range(6):
            remote.add_actor(f"sybil{n}", key_index=n % 4)
        requests = [signed(remote, vote(remote, instance, poll, "Eens", f"sybil{n}"),
                           instance.inbox) for n in range(6)]

        # When all six vote, and then dora from another host
        answers = [await post(request) for request in requests]
        other, _ = await bystander.send(vote(bystander, instance, poll, "Oneens", "dora"),
                                        instance.inbox)
        await process(instance)

        # Then five are accepted, the sixth is told when to retry and is not stored,
        # and the other host is unaffected
        assert [status for status, _ in answers] == [202] * 5 + [429]
        assert 1 <= int(answers[5][1]["Retry-After"]) <= 12  # one vote per 12 s
        assert other == 202
        assert await instance.services.store.inbox_activity_count() == 6
        assert await tally(instance, poll) == ((5, 1), 6)
    finally:
        await instance.stop()


async def test_forged_requests_do_not_spend_a_hosts_budget(tmp_path: Path, remote):
    # Given an instance that takes 5 activities a minute from one host
    instance = await start_instance(tmp_path, inbox_budget_per_host_per_minute=5)
    try:
        poll = await new_poll(instance)
        for n in range(5):
            remote.add_actor(f"voter{n}", key_index=n % 4)
        forged = []
        for n in range(5):  # the body changed after signing
            request = signed(remote, vote(remote, instance, poll, "Eens", n=n), instance.inbox)
            forged.append(Signed(request.url, request.headers,
                                 request.body.replace(b'"Eens"', b'"Oneens"')))
        remote.keys[remote.actors["alice"]["id"]] = shared_key(5)  # signed by a stranger
        forged += [signed(remote, vote(remote, instance, poll, "Eens", n=n), instance.inbox)
                   for n in range(5, 10)]

        # When ten requests with broken signatures claim the host, then five real votes come
        refused = await post_all(forged)
        accepted = await post_all([signed(remote, vote(remote, instance, poll, "Eens",
                                                       f"voter{n}"), instance.inbox)
                                   for n in range(5)])
        await process(instance)

        # Then the forgeries are refused without cost to the host, and all five count
        assert refused == [401] * 10
        assert accepted == [202] * 5
        assert await tally(instance, poll) == ((5, 0), 5)
    finally:
        await instance.stop()


def test_budget_allows_a_burst_then_refills_evenly():
    # Given a budget of 30 a minute (one every 2 s) on a clock we move
    now = [1000.0]
    budget = HostBudget(30, clock=lambda: now[0])

    # When a host spends its burst and then keeps asking
    burst = [budget.charge("evil.example") for _ in range(30)]
    refused = budget.charge("evil.example")
    now[0] += 1
    still = budget.charge("evil.example")
    now[0] += 1
    refilled = budget.charge("evil.example")

    # Then it is told when to come back, a refusal costs it nothing, and other
    # hosts are not affected
    assert burst == [None] * 30
    assert (refused, still, refilled) == (2, 1, None)
    assert budget.charge("evil.example") == 2
    assert budget.charge("honest.example") is None


def test_budget_forgets_idle_hosts_first():
    # Given room for three hosts at 2 a minute: a spent its budget, b and c sent once
    now = [0.0]
    budget = HostBudget(2, clock=lambda: now[0], max_hosts=3)
    for host in ("a", "a", "b", "c"):
        budget.charge(host)

    # When b and c have refilled (idle), a has not, and a fourth host arrives
    now[0] = 31.0
    budget.charge("d")

    # Then b and c are forgotten, a is still held to what it spent
    assert len(budget) == 2
    assert budget.charge("a") is None
    assert budget.charge("a") == 29  # 31 s refilled 1 1/30; it needs 29/30 more


def test_budget_stays_bounded_when_every_host_is_busy():
    # Given room for ten hosts
    budget = HostBudget(2, clock=lambda: 0.0, max_hosts=10)

    # When a hundred hosts each spend their whole budget at once
    sizes = []
    for n in range(100):
        budget.charge(f"h{n}")
        budget.charge(f"h{n}")
        sizes.append(len(budget))

    # Then memory stays bounded; the most recent hosts are still held, the oldest
    # forgotten (they start afresh: nobody can cause that for another host alone)
    assert max(sizes) <= 10
    assert budget.charge("h99") == 30
    assert budget.charge("h0") is None


def test_budget_is_per_host_name_and_configured(tmp_path: Path):
    # Given a config file setting the budget
    config = tmp_path / "peiling.toml"
    config.write_text('base_url = "https://bieb.example"\n'
                      "inbox_budget_per_host_per_minute = 30\n")

    # When settings are read from defaults, the file and the environment
    default = Settings(base_url="https://bieb.example").inbox_budget_per_host_per_minute
    from_file = load_settings(config, environ={}).inbox_budget_per_host_per_minute
    from_env = load_settings(config, environ={"PEILING_INBOX_BUDGET_PER_HOST_PER_MINUTE": "7"}
                             ).inbox_budget_per_host_per_minute

    # Then each applies in turn, a budget of nothing is refused, and every port of
    # a host shares its host name's budget
    assert (default, from_file, from_env) == (600, 30, 7)
    with pytest.raises(SettingsError):
        Settings(base_url="https://bieb.example", inbox_budget_per_host_per_minute=0)
    with pytest.raises(ValueError):
        HostBudget(0)
    assert domain_of("https://Evil.Example:8443/users/a") == "evil.example"
    assert domain_of("https://evil.example/users/b") == "evil.example"
