"""The national pages of a hub: every library and every poll, national results.

Registered only in hub mode. Every count is shown with the time the library
said it was current ("as of"), and a library that stopped reporting is marked
stale with its last-known counts rather than dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from quart import Blueprint, render_template

from activitypub.errors import NotFound
from activitypub.vocab import host_of

from ..lifecycle import existing_poll
from ..polls import Poll
from ..services import Services
from ..storage import Follow, MirroredPoll
from ..web import services
from .mirror import hub_username
from .national import NationalResult, is_stale, national_result

bp = Blueprint("national", __name__)


@dataclass(frozen=True)
class Library:
    actor_id: str
    name: str
    host: str
    state: str
    polls: tuple[MirroredPoll, ...]
    last_report: float | None
    stale: bool


@bp.get("/national")
async def national() -> str:
    s = services()
    now = time.time()
    username = await hub_username(s)
    libraries = await _libraries(s, now)
    results = [(poll, await _result(s, poll, now)) for poll in await s.store.polls(username)]
    mirrored = sorted((p for lib in libraries for p in lib.polls),
                      key=lambda p: (p.closed, -p.published_at))
    names = {lib.actor_id: lib for lib in libraries}
    return await render_template("national.html", libraries=libraries, results=results,
                                 mirrored=mirrored, names=names, now=now)


@bp.get("/national/libraries/<host>")
async def library(host: str) -> str:
    s = services()
    now = time.time()
    found = [lib for lib in await _libraries(s, now) if lib.host == host]
    if not found:
        raise NotFound(f"the hub does not follow a library on {host}")
    return await render_template("national_library.html", library=found[0], now=now)


@bp.get("/national/polls/<int:poll_id>")
async def national_poll(poll_id: int) -> str:
    s = services()
    now = time.time()
    poll = await existing_poll(s, poll_id)
    result = await _result(s, poll, now)
    libraries = {lib.actor_id: lib for lib in await _libraries(s, now)}
    replies = await s.store.hub_replies([row.copy.id for row in result.copies])
    copies = {row.copy.id: row.copy for row in result.copies}
    return await render_template(
        "national_poll.html", poll=poll, result=result, libraries=libraries, now=now,
        show_results=poll.results_public(now), replies=replies,
        copies=copies, poll_url=s.urls.poll(poll.id))


async def _result(s: Services, poll: Poll, now: float) -> NationalResult:
    return national_result(poll, await s.store.tally(poll.id),
                           await s.store.national_copies(poll.id), now,
                           s.settings.hub_stale_hours * 3600)


async def _libraries(s: Services, now: float) -> list[Library]:
    """Every library the hub follows (or asked to), with its mirrored polls."""
    follows = await s.store.following(await hub_username(s))
    return [await _library(s, follow, now) for follow in follows]


async def _library(s: Services, follow: Follow, now: float) -> Library:
    actor = await s.store.remote_actor(follow.actor_id)
    polls = tuple(await s.store.mirrored_polls(follow.actor_id))
    stale_seconds = s.settings.hub_stale_hours * 3600
    return Library(
        actor_id=follow.actor_id, name=(actor.name if actor and actor.name else
                                        host_of(follow.actor_id)),
        host=host_of(follow.actor_id), state=follow.state, polls=polls,
        last_report=max((p.received_at for p in polls), default=None),
        stale=any(is_stale(p, now, stale_seconds) for p in polls))
