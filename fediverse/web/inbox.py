"""The inbox endpoints (personal and shared): authenticate, store, answer 202.

Requests that fail verification are refused here, synchronously, with the
reason; an accepted activity is on disk (deduplicated by id) before the 202,
and is applied afterwards by the inbox worker; a plain vote is counted in the
same transaction that stores it (`poll_activities.vote_on_arrival`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import cast

from hypercorn.typing import HTTPScope
from quart import Blueprint, Response, current_app, request

from activitypub.errors import NotFound, UnsupportedMediaType
from activitypub.vocab import domain_of, host_of

from ..authentication import SignedRequest, UnknownActorDelete, authenticate
from ..poll_activities import vote_on_arrival
from ..ratelimit import HostBudget
from ..storage import InboxActivity, Store
from . import per_app, services

bp = Blueprint("inbox", __name__)

ACTIVITY_MEDIA_TYPES = ("application/activity+json", "application/ld+json")


@bp.post("/inbox")
@bp.post("/users/<username>/inbox")
async def inbox(username: str | None = None) -> Response:
    s = services()
    if username is not None and not await _is_local_actor(s.store, username):
        raise NotFound(f"no actor {username!r} here")
    scope = cast(HTTPScope, request.scope)  # read once: each `request.` is a context lookup
    headers = _sent_headers(scope)
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in ACTIVITY_MEDIA_TYPES:
        raise UnsupportedMediaType("Content-Type must be application/activity+json")
    body = cast(bytes, await request.get_data(cache=False, as_text=False))
    try:
        actor, activity = await authenticate(
            SignedRequest(scope["method"], _request_target(scope), headers, body),
            store=s.store, directory=s.directory, expected_host=s.settings.host,
            now=datetime.now(UTC), window=timedelta(seconds=s.settings.signature_window_seconds),
        )
    except UnknownActorDelete:
        return Response("", status=202)  # an actor we never knew is gone: nothing to do
    budget = per_app("inbox-budget",
                     lambda: HostBudget(s.settings.inbox_budget_per_host_per_minute))
    if wait := budget.charge(domain_of(actor.id)):  # a Sybil flood (security.md A35)
        return Response("", status=429, headers={"Retry-After": str(wait)})
    await s.store.record_host_success(host_of(actor.id))  # it speaks again
    waits = await s.store.save_inbox_activity(InboxActivity(
        id=activity["id"], actor=actor.id, type=activity["type"],
        body=body.decode("utf-8"), received_at=time.time(),  # as sent: it parsed as UTF-8
        inbox_owner=username,
    ), vote_on_arrival(s, activity, actor.id))
    if waits:
        s.inbox_wake.set()
    return Response("", status=202)


async def _is_local_actor(store: Store, username: str) -> bool:
    """Local actors are never removed, so one found is remembered (for the app's
    life): a personal inbox costs no lookup per request. An unknown name is looked
    up each time, since `peiling init` may add it while we serve."""
    known: set[str] = current_app.extensions.setdefault(f"{__name__}.local_actors", set())
    if username not in known:
        if await store.local_actor(username) is None:
            return False
        known.add(username)
    return True


def _sent_headers(scope: HTTPScope) -> dict[str, str]:
    """The headers as the peer sent them, by lower-cased name, the first of repeated
    ones: verification looks each up directly (`httpsig._header`). Read from the ASGI
    scope, not Quart's `request.headers`, which adds a `Remote-Addr` of its own."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _request_target(scope: HTTPScope) -> str:
    """Path and query exactly as sent: the signature covers the raw bytes."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path
