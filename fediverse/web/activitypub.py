"""Our actors and collections as ActivityPub documents (and HTML for browsers).

Actors and collections are served to unsigned GETs: Mastodon fetches the
signing key of a request before it can verify anything, so requiring a
signature here would deadlock with servers in authorized-fetch mode.
"""

from __future__ import annotations

import json
import time

from quart import Blueprint, Response, redirect, render_template

from activitypub.errors import NotFound
from activitypub.vocab import is_public

from ..outgoing import actor_document, ordered_collection
from ..storage import LocalActor
from . import json_response, services, wants_activity_json

bp = Blueprint("activitypub", __name__)
OUTBOX_PAGE = 20


async def _local(username: str) -> LocalActor:
    actor = await services().store.local_actor(username)
    if actor is None:
        raise NotFound(f"no actor {username!r} here")
    return actor


@bp.get("/users/<username>")
async def actor(username: str) -> Response | str:
    local = await _local(username)
    if not wants_activity_json():
        return redirect(services().urls.profile(username))  # type: ignore[return-value]
    s = services()
    return json_response(actor_document(
        local, s.urls, manually_approves=s.settings.manually_approves_followers))


@bp.get("/@<username>")
async def profile(username: str) -> Response | str:
    local = await _local(username)
    s = services()
    if wants_activity_json():
        return json_response(actor_document(
            local, s.urls, manually_approves=s.settings.manually_approves_followers))
    now = time.time()
    open_polls = [p for p in await s.store.polls(username) if p.is_open(now)]
    return await render_template(
        "profile.html", actor=local, handle=f"@{local.username}@{s.settings.host}",
        followers=await s.store.follower_count(username), actor_id=s.urls.actor(username),
        open_polls=open_polls,
    )


@bp.get("/users/<username>/followers")
async def followers(username: str) -> Response:
    """The count is public; who follows a library is not."""
    await _local(username)
    s = services()
    return json_response(ordered_collection(
        s.urls.followers(username), await s.store.follower_count(username)))


@bp.get("/users/<username>/following")
async def following(username: str) -> Response:
    await _local(username)
    s = services()
    accepted = [f for f in await s.store.following(username) if f.state == "accepted"]
    return json_response(ordered_collection(s.urls.following(username), len(accepted)))


@bp.get("/users/<username>/outbox")
async def outbox(username: str) -> Response:
    """Public activities, newest first (the latest page inline)."""
    await _local(username)
    s = services()
    items = [json.loads(body) for body in await s.store.public_outbox(username, OUTBOX_PAGE)]
    for item in items:
        item.pop("@context", None)
    return json_response(ordered_collection(
        s.urls.outbox(username), await s.store.public_outbox_count(username), items))


@bp.get("/activities/<activity_uuid>")
async def activity(activity_uuid: str) -> Response:
    """Public activities we sent are dereferenceable; others are not ours to show."""
    s = services()
    body = await s.store.outbox_activity(f"{s.urls.base}/activities/{activity_uuid}")
    document = json.loads(body) if body else None
    if document is None or not _is_public(document):
        raise NotFound("no such public activity")
    return json_response(document)


def _is_public(document: dict[str, object]) -> bool:
    return is_public(document.get("to")) or is_public(document.get("cc"))
