"""A plain vote is counted in the transaction that stores it, before the 202.

The inbox worker then has nothing to do for it. Only while that keeps every
activity applied in arrival order (security.md A36): a vote that arrives while
an earlier activity still waits for the worker waits too, and a vote whose Note
was deleted first is not counted. Everything else goes through the worker as
before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from harness import process
from test_polls_federation import new_poll, tally_of, vote_from

from fediverse.polls import PollDraft, Tally, validate
from fediverse.storage import Ballot, InboxActivity, LocalActor
from fediverse.storage.sqlite import SqliteStore

T0 = 1_700_000_000.0
M = "https://m.example"


async def test_a_vote_is_counted_before_its_202_and_leaves_the_worker_nothing(
        instance, remote):
    # Given an open poll
    poll = await new_poll(instance)

    # When alice votes
    status, _ = await remote.send(vote_from(remote, instance, poll, "Oneens"), instance.inbox)

    # Then the vote counts as soon as it is answered, and nothing waits for the worker
    assert status == 202
    assert await tally_of(instance, poll) == Tally((0, 1), 1)
    assert await instance.services.store.pending_inbox_activities(10) == []
    assert not instance.services.inbox_wake.is_set()


async def test_a_vote_arriving_behind_a_waiting_activity_waits_for_it(instance, remote):
    # Given alice's reply, stored and not yet applied
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    reply = remote.fixture("mastodon-reply.json", instance)
    reply["object"]["inReplyTo"] = f"{instance.url}/polls/{poll.id}"
    assert (await remote.send(reply, instance.inbox))[0] == 202

    # When bob votes
    status, _ = await remote.send(vote_from(remote, instance, poll, "Eens", "bob"),
                                  instance.inbox)

    # Then his vote waits its turn, and counts once the worker has applied both
    assert status == 202
    assert await tally_of(instance, poll) == Tally((0, 0), 0)
    assert len(await instance.services.store.pending_inbox_activities(10)) == 2
    await process(instance)
    assert await tally_of(instance, poll) == Tally((1, 0), 1)
    assert await instance.services.store.pending_inbox_activities(10) == []


@pytest.mark.parametrize("change", ["closed", "no such option", "two notes"])
async def test_votes_that_do_not_simply_count_are_left_to_the_worker(instance, remote,
                                                                      change):
    # Given a vote that is refused, or not plainly a vote
    poll = await new_poll(instance)
    activity = vote_from(remote, instance, poll, "Eens")
    if change == "closed":
        await instance.services.store.set_poll_end(poll.id, time.time() - 1, time.time() - 1)
    elif change == "no such option":
        activity["object"]["name"] = "eens"
    else:
        note = activity["object"]
        activity["object"] = [note, {**note, "id": f"{note['id']}-2", "name": "Oneens"}]

    # When it arrives
    status, _ = await remote.send(activity, instance.inbox)

    # Then it counted nothing on arrival; stored, it waits for the worker's rules
    assert status == 202
    assert await tally_of(instance, poll) == Tally((0, 0), 0)
    assert len(await instance.services.store.pending_inbox_activities(10)) == 1


# ---------------------------------------------------------------- the store's side


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "arrivals.sqlite3")
    await opened.create_local_actor(LocalActor("bieb", "Bieb", "", "-", "-"), T0)
    yield opened
    await opened.close()


def arrival(n: int, actor: str = "a", kind: str = "Create") -> InboxActivity:
    return InboxActivity(id=f"{M}/{actor}/{n}", actor=f"{M}/{actor}", type=kind, body="{}",
                         received_at=T0 + n)


def ballot(poll_id: int, n: int, actor: str = "a", option: str = "ja") -> Ballot:
    return Ballot(poll_id, f"{M}/{actor}", option, f"{M}/{actor}/notes/{n}")


async def test_arrivals_sharing_one_commit_are_counted_up_to_the_first_that_waits(
        store: SqliteStore):
    # Given a single-choice poll
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee"))
    poll = await store.create_poll("bieb", validate(draft, time.time()), T0)

    # When a vote, a Follow, another vote, a re-sent first vote and a vote whose
    # Note was deleted arrive together
    await store.tombstone_object(f"{M}/d/notes/5", T0)
    waits = await asyncio.gather(
        store.save_inbox_activity(arrival(1, "a"), ballot(poll.id, 1, "a")),
        store.save_inbox_activity(arrival(2, "f", "Follow")),
        store.save_inbox_activity(arrival(3, "b"), ballot(poll.id, 3, "b", "nee")),
        store.save_inbox_activity(arrival(1, "a"), ballot(poll.id, 1, "a")),
        store.save_inbox_activity(arrival(5, "d"), ballot(poll.id, 5, "d")),
    )

    # Then only the first vote counted now; everything after the Follow waits
    # behind it (the re-sent vote is no new activity at all)
    assert waits == [False, True, True, False, True]
    assert await store.tally(poll.id) == Tally((1, 0), 1)
    assert [a.id for a in await store.pending_inbox_activities(10)] == [
        f"{M}/f/2", f"{M}/b/3", f"{M}/d/5"]


async def test_a_deleted_note_waits_so_the_worker_can_drop_it(store: SqliteStore):
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee"))
    poll = await store.create_poll("bieb", validate(draft, time.time()), T0)
    await store.tombstone_object(f"{M}/a/notes/1", T0)

    waits = await store.save_inbox_activity(arrival(1), ballot(poll.id, 1))

    assert waits is True
    assert await store.tally(poll.id) == Tally((0, 0), 0)


@pytest.mark.parametrize("change", ["closed", "deleted", "no such poll", "other case"])
async def test_a_vote_the_poll_does_not_take_waits_for_the_worker(store: SqliteStore,
                                                                  change: str):
    # Given a poll, closed before the vote arrives, deleted, absent, or without the
    # option exactly as named
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee"))
    poll = await store.create_poll("bieb", validate(draft, time.time()), T0)
    vote = ballot(poll.id, 1)
    if change == "closed":
        await store.set_poll_end(poll.id, T0 + 1, T0 + 1)
    elif change == "deleted":
        await store.delete_poll(poll.id, T0)
    elif change == "no such poll":
        vote = ballot(poll.id + 1, 1)
    else:
        vote = ballot(poll.id, 1, option="Ja")

    # When it arrives
    waits = await store.save_inbox_activity(arrival(1), vote)

    # Then nothing is counted on arrival: the worker applies the rules (and a Note
    # that names no option may be a reply)
    assert waits is True
    assert await store.tally(poll.id) == Tally((0, 0), 0)


@pytest.mark.parametrize(("inbox_owner", "counted"), [
    ("jeugd", False), (None, True), ("bieb", True)])
async def test_a_vote_counts_on_arrival_only_at_the_shared_inbox_or_the_poll_owners(
        store: SqliteStore, inbox_owner: str | None, counted: bool):
    # Given bieb's poll and a second local actor, jeugd
    await store.create_local_actor(LocalActor("jeugd", "Jeugd", "", "-", "-"), T0)
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee"))
    poll = await store.create_poll("bieb", validate(draft, time.time()), T0)

    # When a vote for it comes in at jeugd's personal inbox, the shared one or bieb's
    waits = await store.save_inbox_activity(
        replace(arrival(1), inbox_owner=inbox_owner), ballot(poll.id, 1))

    # Then only at jeugd's it is not counted, and waits for the worker to ignore it
    assert waits is not counted
    assert await store.tally(poll.id) == (Tally((1, 0), 1) if counted else Tally((0, 0), 0))


async def test_a_second_single_choice_vote_is_stored_processed_and_not_counted(
        store: SqliteStore):
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee"))
    poll = await store.create_poll("bieb", validate(draft, time.time()), T0)

    waits = [await store.save_inbox_activity(arrival(1), ballot(poll.id, 1)),
             await store.save_inbox_activity(arrival(2), ballot(poll.id, 2, option="nee"))]

    assert waits == [False, False]  # as the worker would: applied, nothing more counted
    assert await store.tally(poll.id) == Tally((1, 0), 1)
    assert await store.pending_inbox_activities(10) == []
