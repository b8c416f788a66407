"""Staff publish and manage polls: list, create and edit with a preview, close,
reopen, delete.

Every change goes through `lifecycle`, like the CLI's and the JSON API's, so the
same rules hold and the same activities go out. A form that is refused, or
asked for a preview, is shown again with what staff typed; the preview is the
Markdown of the article and opinions rendered by the server (no script).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

from quart import Response, flash, url_for

from ...discussion import render_markdown
from ...i18n import gettext as _
from ...lifecycle import (
    close_poll,
    delete_poll,
    edit_poll,
    existing_poll,
    publish_poll,
    reopen_poll,
)
from ...polls import Poll, PollError, check_edit, validate
from .. import services
from ..forms import FormError, checked_form
from .base import bp, page, see_other
from .poll_form import (
    FormProblem,
    PollForm,
    closing_time,
    draft_of_form,
    explain,
    form_of_poll,
    form_of_post,
    local_time,
    moderation_of,
)

DEFAULT_DAYS = 14


@bp.get("/polls")
async def polls() -> Response:
    return await polls_page()


async def polls_page(status: int = 200, **adoption: str) -> Response:
    """The list of polls, with the adoption form (`adoption`: what was typed there and
    why it was refused, when it was)."""
    s = services()
    now = time.time()
    actors = await s.store.local_actors()
    found = sorted([poll for actor in actors for poll in await s.store.polls(actor.username)],
                   key=lambda poll: (-poll.published_at, -poll.id))
    rows = [(poll, await s.store.tally(poll.id)) for poll in found]
    return await page("admin/polls.html", status, rows=rows, now=now, local_time=local_time,
                      default_end=now + DEFAULT_DAYS * 86400, actors=actors,
                      adoption=adoption)


@bp.get("/polls/new")
async def new_poll() -> Response:
    actors = await services().store.local_actors()
    form = PollForm(username=actors[0].username if actors else "",
                    closes_at=local_time(time.time() + DEFAULT_DAYS * 86400))
    return await _editor(form, None)


@bp.post("/polls/new")
async def create_poll() -> Response:
    posted = await checked_form()
    form = form_of_post(posted)
    s = services()
    try:
        draft = draft_of_form(form, None)
        if posted.get("action") != "publish":
            validate(draft, time.time())
            return await _editor(form, None, preview=True)
        if await s.store.local_actor(form.username) is None:
            raise FormProblem(_("Choose the library that asks the question."))
        poll = await publish_poll(s, form.username, draft)
    except (FormProblem, PollError) as problem:
        return await _editor(form, None, error=explain(str(problem)))
    await s.store.set_poll_moderation(poll.id, moderation_of(form))
    await flash(_("The poll is published."))
    return see_other(url_for("admin.edit_poll_form", poll_id=poll.id))


@bp.get("/polls/<int:poll_id>/edit")
async def edit_poll_form(poll_id: int) -> Response:
    s = services()
    poll = await existing_poll(s, poll_id)
    return await _editor(form_of_poll(poll, await s.store.poll_moderation(poll_id)), poll)


@bp.post("/polls/<int:poll_id>/edit")
async def edit_poll_post(poll_id: int) -> Response:
    s = services()
    poll = await existing_poll(s, poll_id)
    posted = await checked_form()
    locked = await s.store.has_votes(poll_id)
    form = form_of_post(posted, poll if locked else None)
    try:
        draft = draft_of_form(form, poll)
        if posted.get("action") != "save":
            check_edit(poll, validate(draft, time.time(),
                                      new_end_time=draft.end_time != poll.end_time), locked)
            return await _editor(form, poll, preview=True)
        await edit_poll(s, poll_id, draft)
    except (FormProblem, PollError) as problem:
        return await _editor(form, poll, error=explain(str(problem)))
    await s.store.set_poll_moderation(poll_id, moderation_of(form))
    await flash(_("The changes are saved."))
    return see_other(url_for("admin.edit_poll_form", poll_id=poll_id))


@bp.post("/polls/<int:poll_id>/close")
async def close(poll_id: int) -> Response:
    await checked_form()
    await _lifecycle_step(close_poll(services(), poll_id), _("The poll is closed."))
    return see_other(url_for("admin.polls"))


@bp.post("/polls/<int:poll_id>/reopen")
async def reopen(poll_id: int) -> Response:
    """Until the planned end, or the closing time staff give (the planned end may
    have passed)."""
    posted = await checked_form()
    text = posted.get("closes_at", "").strip()
    try:
        end = closing_time(text) if text else None
    except FormProblem as problem:
        await flash(str(problem), "error")
    else:
        await _lifecycle_step(reopen_poll(services(), poll_id, end), _("The poll is open again."))
    return see_other(url_for("admin.polls"))


@bp.get("/polls/<int:poll_id>/delete")
async def confirm_delete(poll_id: int) -> Response:
    poll = await existing_poll(services(), poll_id)
    return await page("admin/confirm_delete.html", poll=poll,
                      tally=await services().store.tally(poll_id))


@bp.post("/polls/<int:poll_id>/delete")
async def delete(poll_id: int) -> Response:
    posted = await checked_form()
    if posted.get("confirm") != "yes":
        raise FormError(_("Tick the box to confirm the deletion."))
    await delete_poll(services(), poll_id)
    await flash(_("The poll is deleted."))
    return see_other(url_for("admin.polls"))


async def _lifecycle_step(step: Awaitable[Poll], done: str) -> None:
    """Close or reopen; a refusal (closed already...) becomes the flashed message."""
    try:
        await step
    except PollError as problem:
        await flash(explain(str(problem)), "error")
    else:
        await flash(done)


async def _editor(form: PollForm, poll: Poll | None, *, preview: bool = False,
                  error: str | None = None) -> Response:
    s = services()
    locked = poll is not None and await s.store.has_votes(poll.id)
    rendered = None
    if preview:
        rendered = {"article": render_markdown(form.article),
                    "opinions": [(name, role, render_markdown(text))
                                 for name, role, text in form.opinions]}
    return await page("admin/poll_form.html", 422 if error else 200, form=form, poll=poll,
                      locked=locked, preview=rendered, error=error,
                      actors=await s.store.local_actors())
