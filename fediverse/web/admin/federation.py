"""Followers and the health of federation: who follows each library (and who
asks to), and how deliveries to other servers are going, host by host."""

from __future__ import annotations

from quart import Response, flash, url_for

from activitypub.errors import FetchError

from ... import follows
from ...i18n import gettext as _
from .. import services
from ..forms import FormError, checked_form
from .base import bp, page, see_other


@bp.get("/followers")
async def followers() -> Response:
    s = services()
    libraries = [(actor, await s.store.followers(actor.username, "accepted"),
                  await s.store.followers(actor.username, "pending"))
                 for actor in await s.store.local_actors()]
    return await page("admin/followers.html", libraries=libraries,
                      manual=s.settings.manually_approves_followers)


@bp.post("/followers/<any(approve, reject):decision>")
async def decide_follower(decision: str) -> Response:
    """Approve a request, or refuse one (or remove a follower); the follower is told."""
    posted = await checked_form()
    username, actor = posted.get("username", "")[:200], posted.get("actor", "")[:2000]
    s = services()
    if await s.store.follower(username, actor) is None:
        raise FormError(_("This follower or follow request does not exist (any more)."), 404)
    act = follows.approve_follower if decision == "approve" else follows.reject_follower
    try:
        await act(s, username, actor)
    except FetchError as error:
        raise FormError(_("The follower's server could not be reached; try again later."),
                        502) from error
    await flash(_("The follower is approved.") if decision == "approve"
                else _("The follower is removed."))
    return see_other(url_for("admin.followers"))


@bp.get("/federation")
async def federation() -> Response:
    s = services()
    actors = await s.store.local_actors()
    return await page(
        "admin/federation.html",
        followers=[(actor, await s.store.follower_count(actor.username)) for actor in actors],
        counts=await s.store.delivery_counts(), hosts=await s.store.host_statuses())
