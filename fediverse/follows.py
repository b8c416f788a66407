"""Follows both ways: others following our actors, and our actors following others.

Followers are accepted at once unless `manually_approves_followers` is set;
Accept and Reject embed the received Follow verbatim because that is what
Mastodon matches them by.
"""

from __future__ import annotations

import time

from activitypub.errors import FetchError, MalformedError, NotFound
from activitypub.vocab import JsonObject, get_id, has_type
from activitypub.webfinger import lookup_url, parse_handle, self_link

from .outgoing import accept_of, follow_of, reject_of, undo_of
from .services import Services
from .storage import Follow, FollowState


async def on_follow(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    username = services.urls.username_of(get_id(activity.get("object")) or "")
    if username is None or await services.store.local_actor(username) is None:
        return
    # a hub named in the `hubs` setting is expected: it needs no approval
    manual = services.settings.manually_approves_followers and actor not in services.settings.hubs
    await services.store.save_follower(Follow(
        username, actor, str(activity["id"]), "pending" if manual else "accepted", time.time()))
    if not manual:
        await _answer(services, "accept", username, actor, str(activity["id"]))


async def approve_follower(services: Services, username: str, actor: str) -> None:
    """Staff approve a pending follow request."""
    follow = await services.store.follower(username, actor)
    if follow is None:
        raise NotFound(f"{actor} has not asked to follow {username}")
    await services.store.save_follower(
        Follow(username, actor, follow.follow_id, "accepted", follow.created_at))
    await _answer(services, "accept", username, actor, follow.follow_id)


async def reject_follower(services: Services, username: str, actor: str) -> None:
    """Staff refuse a follow request or remove a follower; the follower is told."""
    follow = await services.store.follower(username, actor)
    if follow is None:
        raise NotFound(f"{actor} does not follow {username}")
    await services.store.remove_follower(username, actor)
    await _answer(services, "reject", username, actor, follow.follow_id)


async def _answer(services: Services, kind: str, username: str, actor: str,
                  follow_id: str) -> None:
    """Accept or Reject sent to the follower's personal inbox, as Mastodon does."""
    local_id = services.urls.actor(username)
    follow = {"id": follow_id, "type": "Follow", "actor": actor, "object": local_id}
    make = accept_of if kind == "accept" else reject_of
    remote = await services.directory.actor(actor)
    await services.outbox.publish(username, make(follow, local_id, services.urls), [remote.inbox])


async def on_undo(services: Services, activity: JsonObject, actor: str,
                  inbox_owner: str | None) -> None:
    """Undo(Follow): matched by the embedded Follow's object, else by the Follow id."""
    inner = activity.get("object")
    if isinstance(inner, dict) and not has_type(inner, "Follow"):
        return
    undone_id = get_id(inner)
    target = get_id(inner.get("object")) if isinstance(inner, dict) else None
    for local in await services.store.local_actors():
        follow = await services.store.follower(local.username, actor)
        if follow and (target == services.urls.actor(local.username)
                       or follow.follow_id == undone_id):
            await services.store.remove_follower(local.username, actor)


async def on_accept(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    await _settle(services, activity, actor, "accepted")


async def on_reject(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    await _settle(services, activity, actor, "rejected")


async def _settle(services: Services, activity: JsonObject, actor: str,
                  state: FollowState) -> None:
    """Only the followed actor can answer our Follow, matched by its id."""
    follow = await services.store.following_by_follow_id(get_id(activity.get("object")) or "")
    if follow is None or follow.actor_id != actor:
        return
    await services.store.set_following_state(follow.follow_id, state, time.time())


async def on_delete(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    """An actor deleting itself: forget its follows and key, keep a tombstone."""
    if get_id(activity.get("object")) == actor:
        await services.store.forget_actor(actor, time.time())
        services.directory.forget(actor)


async def resolve_actor_id(services: Services, target: str) -> str:
    """An actor id from a handle (`@bieb@bieb.example`) or an actor URL."""
    if target.startswith(("https://", "http://")):
        return target
    handle = parse_handle(target)
    schemes = ("https", "http") if services.settings.is_demo else ("https",)
    last_error: Exception = FetchError("no scheme tried")
    for scheme in schemes:
        try:
            jrd = await services.client.fetch_json(
                lookup_url(handle, scheme), accept="application/jrd+json, application/json")
        except FetchError as exc:
            last_error = exc
            continue
        actor_id = self_link(jrd)
        if actor_id is None:
            raise MalformedError(f"{handle} has no ActivityPub actor")
        return actor_id
    raise last_error


async def follow(services: Services, username: str, target: str) -> Follow:
    """Send a Follow from our actor; the Accept settles it later."""
    actor_id = await resolve_actor_id(services, target)
    remote = await services.directory.actor(actor_id)
    activity = follow_of(services.urls.actor(username), remote.id, services.urls)
    record = Follow(username, remote.id, activity["id"], "pending", time.time())
    await services.store.save_following(record, record.created_at)
    await services.outbox.publish(username, activity, [remote.inbox])
    return record


async def unfollow(services: Services, username: str, target: str) -> None:
    actor_id = await resolve_actor_id(services, target)
    matches = [f for f in await services.store.following(username) if f.actor_id == actor_id]
    if not matches:
        raise NotFound(f"{username} does not follow {actor_id}")
    remote = await services.directory.actor(actor_id)
    original = follow_of(services.urls.actor(username), actor_id, services.urls)
    original["id"] = matches[0].follow_id
    await services.store.remove_following(username, actor_id)
    await services.outbox.publish(username, undo_of(original, services.urls), [remote.inbox])
