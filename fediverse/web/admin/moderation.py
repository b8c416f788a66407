"""The discussion queue, reports from other servers, and blocks.

The queue shows replies of one poll or of all, by state; a local comment shows
its e-mail address here (the one place it is shown). Reports list each id they
name beside what it is on this instance. Blocks take an actor URL or a domain,
with an optional purge of what they left.
"""

from __future__ import annotations

import time
from typing import Any

from quart import Response, flash, request, url_for

from ...i18n import gettext as _
from ...i18n import ngettext
from ...moderation import (
    ModerationError,
    Target,
    block,
    moderate_reply,
    purge,
    target_of,
    unblock,
)
from ...storage import PurgeResult, ReplyState
from .. import services
from ..forms import FormError, checked_form
from .base import bp, listing, local_path, page, see_other

STATES: tuple[ReplyState, ...] = ("pending", "visible", "hidden")
PAGE_SIZE = 100  # comments or reports on one page of the queue


@bp.get("/moderation")
async def queue() -> Response:
    s = services()
    asked = request.args.get("state")
    state: ReplyState = next((known for known in STATES if known == asked), "pending")
    poll_id = _poll_id(request.args.get("poll"))
    poll = await s.store.poll(poll_id) if poll_id is not None else None
    found = await listing(lambda limit, offset: s.store.staff_replies(
        poll.id if poll else None, state, limit, offset), PAGE_SIZE)
    questions = {r.poll_id: (await s.store.poll(r.poll_id)) for r, _email in found.rows}
    return await page("admin/moderation.html", replies=found.rows, listing=found, state=state,
                      poll=poll, states=STATES, questions=questions,
                      counts=await s.store.reply_states())


@bp.post("/replies")
async def reply_action() -> Response:
    posted = await checked_form()
    action = posted.get("action", "")
    try:
        await moderate_reply(services(), posted.get("reply_id", "")[:2000], action)
    except ModerationError as error:
        raise FormError(str(error)) from error
    await flash({"approve": _("The comment is published."),
                 "hide": _("The comment is hidden."),
                 "delete": _("The comment is deleted.")}[action])
    return see_other(local_path(posted.get("next"), url_for("admin.queue")))


@bp.get("/reports")
async def reports() -> Response:
    s = services()
    resolved = request.args.get("resolved") == "1"
    found = await listing(lambda limit, offset: s.store.reports(resolved, limit, offset),
                          PAGE_SIZE)
    described = [(report, [await _describe(i) for i in report.objects]) for report in found.rows]
    return await page("admin/reports.html", reports=described, listing=found, resolved=resolved)


@bp.post("/reports/<int:report_id>/resolve")
async def resolve_report(report_id: int) -> Response:
    await checked_form()
    if await services().store.resolve_report(report_id, time.time()):
        await flash(_("The report is marked as handled."))
    return see_other(url_for("admin.reports"))


@bp.get("/blocks")
async def blocks() -> Response:
    s = services()
    return await page("admin/blocks.html", domains=await s.store.blocked_domains(),
                      actors=await s.store.blocked_actors(),
                      target=request.args.get("target", "")[:2000])


@bp.post("/blocks")
async def add_block() -> Response:
    posted = await checked_form()
    target = _target(posted.get("target", ""))
    await block(services(), target)
    await flash(_("Blocked: %(target)s.", target=target.value))
    if posted.get("purge") == "1":
        await _flash_purge(await purge(services(), target))
    return see_other(url_for("admin.blocks"))


@bp.post("/blocks/remove")
async def remove_block() -> Response:
    posted = await checked_form()
    target = _target(posted.get("target", ""))
    if await unblock(services(), target):
        await flash(_("No longer blocked: %(target)s.", target=target.value))
    return see_other(url_for("admin.blocks"))


@bp.post("/purge")
async def purge_target() -> Response:
    posted = await checked_form()
    await _flash_purge(await purge(services(), _target(posted.get("target", ""))))
    return see_other(url_for("admin.blocks"))


def _target(text: str) -> Target:
    try:
        return target_of(text[:2100], services().settings.base_url)
    except ModerationError as error:
        raise FormError(_("Give an actor URL (https://social.example/users/name) or a"
                          " domain (social.example).")) from error


async def _flash_purge(result: PurgeResult) -> None:
    await flash(ngettext("Removed %(num)d vote", "Removed %(num)d votes", result.votes) + ", "
                + ngettext("%(num)d reply", "%(num)d replies", result.replies) + "; "
                + ngettext("%(num)d poll recounted.", "%(num)d polls recounted.",
                           len(result.polls)))


async def _describe(object_id: str) -> dict[str, Any]:
    """What a reported id is here: our actor, one of our polls, a known reply, or unknown."""
    s = services()
    username = s.urls.username_of(object_id)
    if username is not None and await s.store.local_actor(username):
        return {"id": object_id, "kind": "actor", "username": username}
    poll_id = s.urls.poll_id_of(object_id)
    poll = await s.store.poll(poll_id) if poll_id is not None else None
    if poll is not None:
        return {"id": object_id, "kind": "poll", "poll": poll}
    reply = await s.store.reply(object_id)
    if reply is not None:
        return {"id": object_id, "kind": "reply", "reply": reply}
    return {"id": object_id, "kind": "unknown"}


def _poll_id(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None
