"""Group commit: waiting writes share one transaction, each answered once it is on disk.

The mechanism on its own (with a recording `apply`), then the SQLite store's
hot writes made concurrently: the same answers as one call at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from fediverse.polls import PollDraft, validate
from fediverse.storage import InboxActivity, LocalActor
from fediverse.storage.group_commit import GroupCommit
from fediverse.storage.sqlite import SqliteStore

T0 = 1_700_000_000.0


class Recorder:
    """An `apply` that remembers its batches; an item "bad" raises."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def __call__(self, items: list[str]) -> list[str]:
        await asyncio.sleep(0.01)  # a commit takes a while: the next batch gathers
        if "bad" in items:
            raise ValueError("cannot store that")
        self.batches.append(items)
        return [item.upper() for item in items]


async def test_callers_waiting_together_share_one_batch():
    # Given a writer that is busy with a first item
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder, max_batch=100)
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0.001)

    # When many callers arrive meanwhile (no more than a batch takes whole: a longer
    # queue is split, see test_a_long_queue_is_committed_half_at_a_time)
    answers = await asyncio.gather(*(group.submit(f"b{i}") for i in range(16)))

    # Then the lone first caller was not kept waiting for company, and the rest
    # were applied in one batch, in the order they came
    assert await first == "A"
    assert answers == [f"B{i}" for i in range(16)]
    assert recorder.batches == [["a"], [f"b{i}" for i in range(16)]]


async def test_a_batch_never_exceeds_its_size():
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder, max_batch=3)

    await asyncio.gather(*(group.submit(str(i)) for i in range(7)))

    assert [len(batch) for batch in recorder.batches] == [3, 3, 1]


async def test_a_long_queue_is_committed_half_at_a_time():
    # Given a writer busy with a first item, and 32 callers waiting behind it (the
    # convoy of 32 connections whose requests were all answered by one commit)
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder, max_batch=200, whole_up_to=16)
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0.001)
    waiting = [asyncio.create_task(group.submit(f"b{i}")) for i in range(32)]

    # When the first commit is done, the first half of them goes to the disk alone:
    # they are answered while the second half still waits for its commit
    await first
    assert await asyncio.gather(*waiting[:16]) == [f"B{i}" for i in range(16)]
    assert recorder.batches[1] == [f"b{i}" for i in range(16)]
    assert not any(task.done() for task in waiting[16:])

    # Then every caller is answered, in order, and a queue no longer than
    # `whole_up_to` is taken whole
    assert await asyncio.gather(*waiting[16:]) == [f"B{i}" for i in range(16, 32)]
    assert [len(batch) for batch in recorder.batches] == [1, 16, 16]
    await asyncio.gather(*(group.submit(f"c{i}") for i in range(16)))
    assert [len(batch) for batch in recorder.batches[3:]] == [16]


async def test_a_bad_item_fails_only_its_own_caller():
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder, max_batch=100)

    answers = await asyncio.gather(group.submit("x"), group.submit("bad"), group.submit("y"),
                                   return_exceptions=True)

    assert answers[0] == "X" and answers[2] == "Y"
    assert isinstance(answers[1], ValueError)
    assert recorder.batches == [["x"], ["y"]]  # the batch was applied again one by one


async def test_drain_waits_for_everything_queued():
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder, max_batch=100)
    pending = [asyncio.create_task(group.submit(str(i))) for i in range(5)]
    await asyncio.sleep(0)

    await group.drain()

    assert all(task.done() for task in pending)
    assert sum(map(len, recorder.batches)) == 5


# the store's hot writes, made concurrently


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "group.sqlite3")
    await opened.create_local_actor(LocalActor("bieb", "Bieb", "", "-", "-"), T0)
    yield opened
    await opened.close()


def activity(n: int) -> InboxActivity:
    return InboxActivity(id=f"https://m.example/a/{n}", actor="https://m.example/users/a",
                         type="Create", body="{}", received_at=T0 + n)


async def test_an_activity_sent_twice_at_once_is_stored_once(store: SqliteStore):
    saved = await asyncio.gather(*(store.save_inbox_activity(activity(n % 10))
                                   for n in range(30)))

    assert saved == [True] * 10 + [False] * 20  # the first of each id, as one at a time
    assert await store.inbox_activity_count() == 10


async def test_concurrent_votes_count_as_they_would_one_at_a_time(store: SqliteStore):
    # Given a single-choice and a multiple-choice poll
    draft = PollDraft("Eens?", end_time=time.time() + 3600, options=("ja", "nee", "soms"))
    single = await store.create_poll("bieb", validate(draft, time.time()), T0)
    multiple = await store.create_poll(
        "bieb", validate(replace(draft, multiple=True), time.time()), T0)
    voter = "https://m.example/users/v"

    # When one voter's votes arrive together (a retry among them)
    counted = await asyncio.gather(
        store.record_vote(single.id, voter, [1], True, f"{voter}#votes/1", T0),
        store.record_vote(single.id, voter, [0], True, f"{voter}#votes/2", T0),
        store.record_vote(multiple.id, voter, [0], False, f"{voter}#votes/3", T0),
        store.record_vote(multiple.id, voter, [2], False, f"{voter}#votes/4", T0),
        store.record_vote(multiple.id, voter, [2], False, f"{voter}#votes/4", T0),
        store.record_vote(multiple.id, "https://m.example/users/w", [2], False, None, T0),
    )

    # Then the first single-choice vote wins, each option counts once per voter,
    # and a poll counts each voter once
    assert counted == [(1,), (), (0,), (2,), (), (2,)]
    assert (await store.tally(single.id)).counts == (0, 1, 0)
    assert (await store.tally(single.id)).voters == 1
    assert (await store.tally(multiple.id)).counts == (1, 0, 2)
    assert (await store.tally(multiple.id)).voters == 2


async def test_a_caller_cancelled_as_its_transaction_begins_leaves_none_open(
    store: SqliteStore,
):
    # Given a transaction whose BEGIN is on its way to the database thread
    task = asyncio.create_task(store.take_due_tallies(T0))
    await asyncio.sleep(0)

    # When its caller is cancelled (a delivery loop stopping mid-lease)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Then the connection is not left inside a transaction
    assert await store.take_due_tallies(T0) == []
    assert await store.save_inbox_activity(activity(1))
