"""A Mastodon user follows and unfollows the library; the Accept arrives signed."""

from __future__ import annotations

from harness import FakeRemote, RunningInstance

from fediverse.incoming import InboxWorker


async def process(instance: RunningInstance) -> None:
    """Apply what the inbox stored, then send what that queued."""
    await InboxWorker(instance.services).run_once()
    await instance.services.delivery.run_once()


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
    import aiohttp

    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)

    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.actor_id}/followers",
            headers={"Accept": "application/activity+json"}) as response:
        collection = await response.json(content_type=None)
    assert collection["totalItems"] == 1
    assert "orderedItems" not in collection and "items" not in collection
    assert remote.actors["alice"]["id"] not in str(collection)
