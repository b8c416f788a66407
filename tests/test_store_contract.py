"""The `Store` contract, run against every backend (SQLite today)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing

import pytest

from fediverse.storage import DuplicateError, Follow, InboxActivity, LocalActor, RemoteActor, Store
from fediverse.storage.sqlite import SqliteStore, _migrations


@pytest.fixture(params=["sqlite"])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    opened = await SqliteStore.open(tmp_path / "contract.sqlite3")
    await opened.create_local_actor(LocalActor("bieb", "Bieb", "", "PRIVATE", "PUBLIC"), 1.0)
    yield opened
    await opened.close()


def remote(actor_id: str, shared: str | None = None) -> RemoteActor:
    return RemoteActor(id=actor_id, key_id=f"{actor_id}#main-key", public_key_pem="PEM",
                       inbox=f"{actor_id}/inbox", shared_inbox=shared, username="a",
                       name="A", url=None, fetched_at=1.0)


async def test_local_actor_usernames_are_unique(store):
    with pytest.raises(DuplicateError):
        await store.create_local_actor(LocalActor("bieb", "Other", "", "K", "P"), 2.0)
    assert [a.name for a in await store.local_actors()] == ["Bieb"]


async def test_inbox_activity_is_stored_once_by_id(store):
    activity = InboxActivity("https://m.example/1", "https://m.example/u", "Follow", "{}", 1.0)

    assert await store.save_inbox_activity(activity) is True
    assert await store.save_inbox_activity(activity) is False
    assert await store.inbox_activity_count() == 1
    [pending] = await store.pending_inbox_activities(10)
    await store.mark_inbox_processed(pending.id, 2.0, None)
    assert await store.pending_inbox_activities(10) == []


async def test_inbox_activity_keeps_the_inbox_it_came_in_at(store):
    # Given one activity from bieb's personal inbox and one from the shared inbox
    personal = InboxActivity("https://m.example/1", "https://m.example/u", "Create", "{}", 1.0,
                             inbox_owner="bieb")
    shared = InboxActivity("https://m.example/2", "https://m.example/u", "Follow", "{}", 2.0)

    # When both are stored
    await store.save_inbox_activity(personal)
    await store.save_inbox_activity(shared)

    # Then the worker gets each back with its inbox
    assert await store.pending_inbox_activities(10) == [personal, shared]


async def test_followers_and_their_preferred_inboxes(store):
    await store.save_remote_actor(remote("https://m.example/users/a", "https://m.example/inbox"))
    await store.save_remote_actor(remote("https://m.example/users/b", "https://m.example/inbox"))
    await store.save_remote_actor(remote("https://g.example/users/c"))
    for name in ("https://m.example/users/a", "https://m.example/users/b",
                 "https://g.example/users/c"):
        await store.save_follower(Follow("bieb", name, f"{name}/follow", "accepted", 1.0))
    await store.save_follower(Follow("bieb", "https://p.example/u", "f", "pending", 1.0))

    inboxes = await store.follower_inboxes("bieb")

    assert sorted(inboxes) == ["https://g.example/users/c/inbox", "https://m.example/inbox"]
    assert await store.follower_count("bieb") == 3
    assert await store.remove_followers_at_inbox("https://m.example/inbox") == 2
    assert await store.follower_count("bieb") == 1


async def test_forgetting_an_actor_leaves_a_tombstone(store):
    actor = "https://m.example/users/a"
    await store.save_remote_actor(remote(actor))
    await store.save_follower(Follow("bieb", actor, "f", "accepted", 1.0))

    await store.forget_actor(actor, 2.0)

    assert await store.is_tombstoned(actor)
    assert await store.remote_actor(actor) is None
    assert await store.follower_count("bieb") == 0


async def test_outbox_activity_and_its_deliveries_are_written_together(store):
    body = json.dumps({"id": "https://b.example/activities/1", "type": "Accept"})
    inboxes = ["https://m.example/inbox", "https://m.example/inbox", "https://g.example/i"]

    await store.add_outbox_activity("bieb", "https://b.example/activities/1", "Accept", body,
                                     False, inboxes, 1.0)

    assert await store.delivery_counts() == {"pending": 2, "done": 0, "failed": 0}
    assert await store.outbox_activity("https://b.example/activities/1") == body
    assert await store.public_outbox_count("bieb") == 0
    with pytest.raises(DuplicateError):  # the same id twice: nothing half-written
        await store.add_outbox_activity("bieb", "https://b.example/activities/1", "Accept",
                                        body, False, ["https://x.example/i"], 2.0)
    assert await store.delivery_counts() == {"pending": 2, "done": 0, "failed": 0}


async def test_following_is_settled_by_follow_id(store):
    follow = Follow("bieb", "https://m.example/users/a", "https://b.example/f/1", "pending", 1.0)
    await store.save_following(follow, 1.0)

    await store.set_following_state(follow.follow_id, "accepted", 2.0)

    found = await store.following_by_follow_id(follow.follow_id)
    assert found is not None and found.state == "accepted"
    assert await store.remove_following("bieb", follow.actor_id)
    assert await store.following("bieb") == []


async def test_blocked_domains_are_case_insensitive(store):
    await store.block_domain("Spam.Example", 1.0)

    assert await store.is_blocked("spam.example")
    assert not await store.is_blocked("example")


async def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "twice.sqlite3"
    first = await SqliteStore.open(path)
    await first.create_local_actor(LocalActor("x", "X", "", "K", "P"), 1.0)
    await first.close()

    second = await SqliteStore.open(path)

    assert [a.username for a in await second.local_actors()] == ["x"]
    await second.close()


async def test_activities_stored_before_migration_011_keep_waiting_from_no_inbox(tmp_path):
    # Given a database as migration 010 left it, with an activity still waiting
    path = tmp_path / "at-010.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        for number, script in _migrations():
            if number <= 10:
                db.executescript(script)
        db.executescript(
            "PRAGMA user_version = 10;"
            " INSERT INTO inbox_activity (id, actor, type, body, received_at)"
            " VALUES ('https://m.example/1', 'https://m.example/u', 'Follow', '{}', 1.0);")

    # When the store opens it
    store = await SqliteStore.open(path)

    # Then the activity is still there and waits, as if it came in at the shared inbox
    assert await store.pending_inbox_activities(10) == [InboxActivity(
        "https://m.example/1", "https://m.example/u", "Follow", "{}", 1.0, inbox_owner=None)]
    await store.close()
