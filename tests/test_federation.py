"""Two real instances over loopback HTTP: follow, Accept, Undo, and deliveries
that wait for a stopped peer, even across a restart of the sender."""

from __future__ import annotations

import time
from pathlib import Path

from harness import settle, start_instance

from fediverse import follows
from fediverse.incoming import InboxWorker


async def test_instance_follows_another_and_the_accept_settles_it(tmp_path: Path):
    hub = await start_instance(tmp_path, "hub")
    bieb = await start_instance(tmp_path, "bieb")
    try:
        await follows.follow(hub.services, "hub", f"@bieb@{bieb.services.settings.host}")
        await settle(hub, bieb)

        [record] = await hub.services.store.following("hub")
        assert (record.actor_id, record.state) == (bieb.actor_id, "accepted")
        [follower] = await bieb.services.store.followers("bieb", "accepted")
        assert follower.actor_id == hub.actor_id

        await follows.unfollow(hub.services, "hub", bieb.actor_id)
        await settle(hub, bieb)

        assert await bieb.services.store.follower_count("bieb") == 0
        assert await hub.services.store.following("hub") == []
    finally:
        await hub.stop()
        await bieb.stop()


async def test_delivery_to_a_stopped_peer_arrives_after_it_returns(tmp_path: Path):
    sender = await start_instance(tmp_path, "hub")
    peer = await start_instance(tmp_path, "bieb")
    peer_port = peer.port
    await sender.services.directory.actor(peer.actor_id)  # known before it goes away
    await peer.stop()

    await follows.follow(sender.services, "hub", peer.actor_id)
    assert await sender.services.delivery.run_once() == 1
    counts = await sender.services.store.delivery_counts()
    assert counts["pending"] == 1  # refused connection: kept for a retry

    await sender.stop()  # the sender restarts while the row waits
    sender = await start_instance(tmp_path, "hub", port=sender.port)
    peer = await start_instance(tmp_path, "bieb", port=peer_port)
    try:
        sender.services.delivery._clock = lambda: time.time() + 3600  # the retry is due
        await sender.services.delivery.run_once()
        await InboxWorker(peer.services).run_once()

        [follower] = await peer.services.store.followers("bieb", "accepted")
        assert follower.actor_id == sender.actor_id
        assert (await sender.services.store.delivery_counts())["done"] == 1
    finally:
        await sender.stop()
        await peer.stop()


async def test_an_activity_answered_202_survives_a_restart(tmp_path: Path, remote):
    """The 202 promises the activity is on disk; it is applied after the restart."""
    first = await start_instance(tmp_path, "bieb")
    status, _ = await remote.send(remote.fixture("mastodon-follow.json", first), first.inbox)
    await first.stop()  # before the inbox worker ever ran

    second = await start_instance(tmp_path, "bieb", port=first.port)
    try:
        await InboxWorker(second.services).run_once()
        await second.services.delivery.run_once()
        assert status == 202
        assert await second.services.store.follower_count("bieb") == 1
        assert [r.json["type"] for r in remote.received] == ["Accept"]
    finally:
        await second.stop()
