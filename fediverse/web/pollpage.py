"""The poll page for people: read, vote, comment, or go vote from one's own account.

Every form posts back here and is answered with a 303 to the page (post,
redirect, get), so a reload never repeats it; what happened is flashed in the
session and shown once, beside the form, where the redirect lands. A form that cannot be
accepted changes nothing: a bad CSRF token is a 400 page (`forms`), a flood from
one address a 429 page with `Retry-After`, anything else a message on the page. A
refused comment is the one form answered with the page itself (422), so that what
was typed is still in the form: a comment can be long, and a session cookie could
not carry it through a redirect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html import escape

from quart import (
    Blueprint,
    Response,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
)

from ..comments import CommentError, checked_comment, initial_state, new_comment
from ..discussion import render_markdown
from ..i18n import gettext as _
from ..interaction import InteractionError, interaction_url
from ..lifecycle import existing_poll
from ..polls import Poll
from ..webvotes import BallotBox, VoteRefused, chosen_options, option_index, voter_id
from . import per_app, services
from .forms import checked_form
from .visitors import browser_id, new_browser_id, over_budget, remember_browser

bp = Blueprint("pollpage", __name__)

MAX_TYPED_NAME = 300  # characters of a refused comment's name shown back, at most


@dataclass(frozen=True)
class TypedComment:
    """A comment form sent back to its writer with what they typed, and why it was not
    taken: nobody should have to write a comment twice for a slip in the name. The
    e-mail address is not sent back (security.md A40: it appears in no output but
    the staff's; a browser fills it in again)."""

    name: str
    text: str
    error: str


async def poll_page(found: Poll, typed: TypedComment | None = None) -> Response:
    """The page at the poll's id, for browsers (the Question is served to software).
    With `typed`, the answer to a refused comment (422): the form holds what was typed,
    which is nobody else's to see, so the page is not to be stored."""
    s = services()
    messages = _messages_by_place()
    if typed is not None:
        messages["comment"].append(("error", typed.error))
    now = time.time()
    browser = browser_id()
    poll_url = s.urls.poll(found.id)  # never the request's Host: a proxy or a forger sets it
    page = await render_template(
        "poll.html", poll=found, tally=await s.store.tally(found.id), now=now,
        show_results=found.results_public(now),
        article=render_markdown(found.article),
        opinions=[(o, render_markdown(o.text)) for o in found.opinions],
        replies=await s.store.replies(found.id, "visible"),
        moderation=await s.store.poll_moderation(found.id),
        voted=browser is not None and await s.store.has_voted(found.id, voter_id(browser)),
        preselected={option_index(c, found) for c in request.args.getlist("choice")[:50]},
        messages=messages, typed=typed,
        handle=f"@{found.local_username}@{s.settings.host}", poll_url=poll_url,
        feed_url=f"{s.urls.profile(found.local_username)}/polls.atom",
        comment_max_chars=s.settings.comment_max_chars,
        embed_snippet=embed_snippet(found, poll_url),
    )
    if typed is None:
        return Response(page, content_type="text/html; charset=utf-8")
    return Response(page, status=422, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


@bp.post("/polls/<int:poll_id>/vote")
async def vote(poll_id: int) -> Response:
    found = await existing_poll(services(), poll_id)
    form = await checked_form()
    wait = over_budget("votes")
    if wait is not None:
        return await too_many(wait)
    browser = browser_id() or new_browser_id()
    try:
        choices = chosen_options(found, form.getlist("choice"))
        await ballot().cast(services(), found, browser, choices)
    except VoteRefused as refused:
        await flash(str(refused), "error:vote")
        return back(poll_id, "vote")
    await flash(_("Thank you: your vote has been counted."), "ok:vote")
    response = back(poll_id, "vote")
    remember_browser(response, browser)
    return response


@bp.post("/polls/<int:poll_id>/comments")
async def comment(poll_id: int) -> Response:
    s = services()
    found = await existing_poll(s, poll_id)
    form = await checked_form()
    wait = over_budget("comments")
    if wait is not None:
        return await too_many(wait)
    name, email, text = form.get("name", ""), form.get("email", ""), form.get("comment", "")
    try:
        draft = checked_comment(name, email, text, s.settings.comment_max_chars)
    except CommentError as refused:
        text_cap = 2 * s.settings.comment_max_chars  # what is far too long is not echoed whole
        return await poll_page(found, TypedComment(name[:MAX_TYPED_NAME], text[:text_cap],
                                                   str(refused)))
    moderation = await s.store.poll_moderation(poll_id)
    known = moderation == "first" and await s.store.has_visible_comment_by(draft.email)
    reply = new_comment(found, draft, initial_state(moderation, known), s.urls, time.time())
    await s.store.save_comment(reply, draft.email)
    if reply.state == "visible":
        await flash(_("Thank you: your comment has been published."), "ok:comment")
        return back(poll_id, f"comment-{reply.id.rsplit('/', 1)[-1]}")
    await flash(_("Thank you: your comment will appear once the library has read it."),
                "ok:comment")
    return back(poll_id, "comment-form-title")


@bp.get("/polls/<int:poll_id>/interact")
async def interact(poll_id: int) -> Response:
    """From the handle form (a GET: it changes nothing here) to the visitor's server.

    Not a redirect: `form-action 'self'` would stop a form's redirect to another
    site, so the visitor follows a link to where they are going."""
    s = services()
    found = await existing_poll(s, poll_id)
    wait = over_budget("votes")
    if wait is not None:
        return await too_many(wait)
    text = request.args.get("handle", "")
    target, error = None, None
    try:
        target = await interaction_url(s, text, s.urls.poll(poll_id))
    except InteractionError as failed:
        error = str(failed)
    page = await render_template("interact.html", poll=found, target=target, error=error,
                                 handle_text=text[:300], poll_url=s.urls.poll(poll_id))
    return Response(page, status=200 if target else 400,
                    content_type="text/html; charset=utf-8")


def _messages_by_place() -> dict[str, list[tuple[str, str]]]:
    """What the last form did, per place on the page ("vote", "comment"), shown once
    where the redirect lands: [(kind, text)], kind "ok" or "error"."""
    placed: dict[str, list[tuple[str, str]]] = {"vote": [], "comment": []}
    for entry in get_flashed_messages(with_categories=True):
        category, text = entry if isinstance(entry, tuple) else ("ok", entry)
        kind, _sep, place = category.partition(":")
        placed.setdefault(place, []).append(("error" if kind == "error" else "ok", str(text)))
    return placed


def embed_snippet(found: Poll, poll_url: str) -> str:
    """The iframe a library copies into its own site (escaped once here: the page
    escapes it again, so the text area shows exactly what is to be pasted)."""
    return (f'<iframe src="{escape(poll_url)}/embed" title="{escape(found.question)}"'
            ' width="100%" height="520" style="border:0"></iframe>')


def ballot() -> BallotBox:
    return per_app("ballot-box", BallotBox)


def back(poll_id: int, anchor: str) -> Response:
    return redirect(f"/polls/{poll_id}#{anchor}", 303)  # type: ignore[return-value]


async def too_many(wait: int) -> Response:
    page = await render_template(
        "error.html", status=429,
        message=_("Too many attempts from your network. Please try again later."))
    response = Response(page, status=429, content_type="text/html; charset=utf-8")
    response.headers["Retry-After"] = str(wait)
    return response
