"""The polls outside our own pages: an Atom feed, an embeddable widget, comment Notes.

The widget (`/polls/<id>/embed`) is the one page other sites may frame. It
shows the proposition and the results and lets the visitor pick an option, but
voting happens on the poll page, opened in a new tab: inside a third-party
frame browsers send no `SameSite=Lax` cookie, so neither the CSRF token nor
the one-vote-per-browser cookie could work there, and making them `None` would
expose every form to cross-site requests. The widget's form is a plain GET to
the poll page with the choice preselected; the visitor confirms there.

Local comments are served as Notes by the library actor (`comments.comment_note`)
at their ids, which the Question's `replies` collection lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from xml.etree import ElementTree as ET

from quart import Blueprint, Response, redirect, render_template

from activitypub.errors import NotFound

from ..comments import comment_note
from ..lifecycle import existing_poll
from ..outgoing import iso
from ..polls import Poll
from . import json_response, services, wants_activity_json
from .pagepolicy import frameable

bp = Blueprint("syndication", __name__)
ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50


@bp.get("/polls/<int:poll_id>/embed")
async def embed(poll_id: int) -> Response:
    s = services()
    found = await existing_poll(s, poll_id)
    now = time.time()
    page = await render_template(
        "embed.html", poll=found, tally=await s.store.tally(poll_id), now=now,
        show_results=found.results_public(now),
        poll_url=s.urls.poll(poll_id))
    return frameable(Response(page, content_type="text/html; charset=utf-8"))


@bp.get("/polls/<int:poll_id>/comments/<comment_key>")
async def comment_document(poll_id: int, comment_key: str) -> Response:
    """A visible local comment as a Note; held or hidden ones do not exist outside."""
    s = services()
    found = await existing_poll(s, poll_id)
    reply = await s.store.reply(f"{s.urls.poll(poll_id)}/comments/{comment_key}")
    if reply is None or reply.actor is not None or reply.state != "visible":
        raise NotFound("no such comment")
    if not wants_activity_json():
        return redirect(f"/polls/{poll_id}#comment-{comment_key}")  # type: ignore[return-value]
    return json_response(comment_note(reply, found, s.urls))


@bp.get("/@<username>/polls.atom")
async def feed(username: str) -> Response:
    s = services()
    actor = await s.store.local_actor(username)
    if actor is None:
        raise NotFound(f"no actor {username!r} here")
    polls = (await s.store.polls(username))[:FEED_ENTRIES]
    body = atom_feed(actor.name, s.urls.profile(username), polls, s.urls.poll)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def atom_feed(title: str, home: str, polls: list[Poll], url_of: Callable[[int], str]) -> bytes:
    """Atom 1.0, built as XML elements so every text is escaped by construction."""
    root = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "id").text = f"{home}/polls.atom"
    ET.SubElement(root, "link", rel="alternate", type="text/html", href=f"{home}/polls")
    ET.SubElement(root, "link", rel="self", type="application/atom+xml",
                  href=f"{home}/polls.atom")
    newest = max((p.edited_at or p.published_at for p in polls), default=time.time())
    ET.SubElement(root, "updated").text = iso(newest)
    ET.SubElement(ET.SubElement(root, "author"), "name").text = title
    for poll in polls:
        entry = ET.SubElement(root, "entry")
        ET.SubElement(entry, "title").text = poll.question
        ET.SubElement(entry, "id").text = url_of(poll.id)
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url_of(poll.id))
        ET.SubElement(entry, "published").text = iso(poll.published_at)
        ET.SubElement(entry, "updated").text = iso(poll.edited_at or poll.published_at)
        if poll.introduction:
            ET.SubElement(entry, "summary").text = poll.introduction
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
