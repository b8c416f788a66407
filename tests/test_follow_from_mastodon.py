"""A Mastodon user follows and unfollows the library; the Accept arrives signed."""

from __future__ import annotations

import aiohttp
from harness import FakeRemote, process, start_instance

from fediverse import follows


async def test_follow_is_accepted_with_a_signed_accept(instance, remote: FakeRemote):
    follow = remote.fixture("mastodon-follow.json", instance)

    status, _ = await remote.send(follow, instance.inbox)
    await process(instance)

    assert status == 202
    followers = await instance.services.store.followers("bieb", "accepted")
    assert [f.actor_id for f in followers] == [follow["actor"]]
    [accept] = remote.received
    assert accept.path == "/users/alice/inbox"  # the follower's personal inbox
    assert accept.verified is True
    assert accept.json["type"] == "Accept"
    assert accept.json["actor"] == instance.actor_id
    assert accept.json["object"]["id"] == follow["id"]  # Mastodon matches on this


async def test_undo_follow_removes_the_follower(instance, remote: FakeRemote):
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)

    status, _ = await remote.send(remote.fixture("mastodon-undo-follow.json", instance),
                                  instance.inbox)
    await process(instance)

    assert status == 202
    assert await instance.services.store.follower_count("bieb") == 0


async def test_follower_count_is_public_but_members_are_not(instance, remote: FakeRemote):
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)

    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.actor_id}/followers",
            headers={"Accept": "application/activity+json"}) as response:
        collection = await response.json(content_type=None)
    assert collection["totalItems"] == 1
    assert "orderedItems" not in collection and "items" not in collection
    assert remote.actors["alice"]["id"] not in str(collection)


async def test_repeated_follow_updates_the_follow_id_and_accepts_again(instance, remote):
    """Mastodon re-sends Follow when it lost state; it matches the Accept by the new id."""
    first = remote.fixture("mastodon-follow.json", instance)
    second = dict(first, id=f"{remote.base}/another-follow-id")
    await remote.send(first, instance.inbox)
    await process(instance)

    await remote.send(second, instance.inbox)
    await process(instance)

    [follower] = await instance.services.store.followers("bieb", "accepted")
    assert follower.follow_id == second["id"]
    assert [r.json["object"]["id"] for r in remote.received] == [first["id"], second["id"]]


async def test_follow_of_someone_else_is_ignored(instance, remote):
    follow = remote.fixture("mastodon-follow.json", instance)
    follow["object"] = f"{instance.url}/users/nobody"

    status, _ = await remote.send(follow, instance.inbox)
    await process(instance)

    assert status == 202
    assert await instance.services.store.follower_count("bieb") == 0
    assert remote.received == []


async def test_undo_by_a_non_follower_changes_nothing(instance, remote):
    bob = remote.add_actor("bob", key_index=2)
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)
    undo = remote.fixture("mastodon-undo-follow.json", instance, actor="bob")
    undo["id"] = f"{bob}#follows/1/undo"

    status, _ = await remote.send(undo, instance.inbox)
    await process(instance)

    assert status == 202
    assert await instance.services.store.follower_count("bieb") == 1


async def test_deleted_account_loses_its_follow_and_cannot_come_back(instance, remote):
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)

    status, _ = await remote.send(remote.fixture("mastodon-delete-actor.json", instance),
                                  instance.inbox)
    await process(instance)
    again, _ = await remote.send(remote.fixture("mastodon-follow.json", instance) | {
        "id": f"{remote.base}/follow-after-delete"}, instance.inbox)

    assert status == 202
    assert await instance.services.store.follower_count("bieb") == 0
    assert again == 401  # a tombstoned actor is not heard again


async def test_manual_approval_holds_follows_until_staff_decide(tmp_path, remote):
    running = await start_instance(tmp_path, manually_approves_followers=True)
    try:
        status, actor = await get_actor(running)
        assert actor["manuallyApprovesFollowers"] is True
        await remote.send(remote.fixture("mastodon-follow.json", running), running.inbox)
        await process(running)
        assert remote.received == []
        [pending] = await running.services.store.followers("bieb", "pending")

        await follows.approve_follower(running.services, "bieb", pending.actor_id)
        await running.services.delivery.run_once()

        assert await running.services.store.follower_count("bieb") == 1
        [accept] = remote.received
        assert accept.json["type"] == "Accept" and accept.verified

        await follows.reject_follower(running.services, "bieb", pending.actor_id)
        await running.services.delivery.run_once()
        assert await running.services.store.follower_count("bieb") == 0
        assert remote.received[-1].json["type"] == "Reject"
        assert remote.received[-1].json["object"]["id"] == pending.follow_id
    finally:
        await running.stop()


async def get_actor(running):
    async with aiohttp.ClientSession() as session, session.get(
            running.actor_id, headers={"Accept": "application/activity+json"}) as response:
        return response.status, await response.json(content_type=None)
