"""Polls on the web: the Question by content negotiation, its replies, its page.

A deleted poll answers 404 (not 410): on a 404 Mastodon deletes its copy.
"""

from __future__ import annotations

import time

from quart import Blueprint, Response, render_template

from activitypub.errors import NotFound

from ..lifecycle import current_question, existing_poll
from ..outgoing import create_of, ordered_collection
from . import json_response, services, wants_activity_json
from .pollpage import poll_page

bp = Blueprint("polls", __name__)
REPLIES_PAGE = 200


@bp.get("/polls/<int:poll_id>")
async def poll(poll_id: int) -> Response:
    s = services()
    found = await existing_poll(s, poll_id)
    now = time.time()
    if wants_activity_json():
        return json_response(await current_question(s, found, now))
    return await poll_page(found)  # with its security headers from `pagepolicy`


@bp.get("/polls/<int:poll_id>/activity")
async def poll_create(poll_id: int) -> Response:
    s = services()
    found = await existing_poll(s, poll_id)
    return json_response(create_of(await current_question(s, found, time.time())))


@bp.get("/polls/<int:poll_id>/replies")
async def poll_replies(poll_id: int) -> Response:
    """The discussion as fediverse servers read it: ids of the visible replies."""
    s = services()
    await existing_poll(s, poll_id)
    replies = await s.store.replies(poll_id, "visible")
    collection = ordered_collection(s.urls.poll_replies(poll_id), len(replies),
                                    [r.id for r in replies[:REPLIES_PAGE]])
    return json_response(collection)


@bp.get("/@<username>/polls")
async def poll_index(username: str) -> Response | str:
    s = services()
    actor = await s.store.local_actor(username)
    if actor is None:
        raise NotFound(f"no actor {username!r} here")
    now = time.time()
    found = await s.store.polls(username)
    ordered = sorted(found, key=lambda p: (not p.is_open(now), -p.published_at))
    voters = {p.id: (await s.store.tally(p.id)).voters for p in ordered}
    return await render_template("polls.html", actor=actor, polls=ordered, now=now,
                                 open_ids={p.id for p in ordered if p.is_open(now)},
                                 voters=voters)
