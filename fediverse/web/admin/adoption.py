"""Staff adopt a national poll: the admin's form for `peiling poll adopt URL`.

The same `hub.adoption.adopt` runs (signed GET of the hub's Question, then the
library's copy published through `lifecycle`), so the rules and activities are
the CLI's. A refusal is shown on the polls page with the URL as typed, in the
reader's language; nothing is stored then.
"""

from __future__ import annotations

from quart import Response, flash, url_for

from activitypub.errors import AddressNotAllowed, FetchError, TemporaryFetchError

from ...hub import adoption
from ...i18n import gettext as _
from ...polls import PollError
from .. import services
from ..forms import checked_form
from .base import bp, see_other
from .poll_form import explain
from .polls import polls_page

MAX_URL = 2000


@bp.post("/polls/adopt")
async def adopt() -> Response:
    posted = await checked_form()
    url = posted.get("url", "").strip()[:MAX_URL + 1]
    s = services()
    actors = [a.username for a in await s.store.local_actors()]
    username = posted.get("username") or (actors[0] if actors else "")
    if username not in actors:
        return await polls_page(422, url=url, error=_("Choose the library that adopts the poll."))
    if not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
        return await polls_page(422, url=url, error=_(
            "Give the national poll's web address, starting with https://."))
    try:
        poll = await adoption.adopt(s, username, url)
    except (PollError, FetchError) as problem:
        return await polls_page(422, url=url, error=refusal(problem))
    await flash(_("The national poll is adopted: this is your library's copy. Its "
                  "introduction, article and opinions are yours to write."))
    return see_other(url_for("admin.edit_poll_form", poll_id=poll.id))


def refusal(problem: PollError | FetchError) -> str:
    """Why the poll was not adopted, for staff, in their language."""
    if isinstance(problem, AddressNotAllowed):
        return _("Peiling may not fetch that address: give the national poll's URL at the hub.")
    if isinstance(problem, TemporaryFetchError):
        return _("The hub did not answer (%(reason)s). Try again later.", reason=str(problem))
    if isinstance(problem, FetchError):
        return _("The hub did not send a poll from that address (%(reason)s). Check the URL.",
                 reason=str(problem))
    message = str(problem)
    known = {
        adoption.NOT_A_POLL: _("That address is not a poll."),
        adoption.FOREIGN_POLL: _("That poll is not the hub's own: adopt it at its own address."),
        adoption.CLOSED: _("That national poll is closed: it can no longer be adopted."),
        adoption.NO_END_TIME: _("That national poll has no end time, so it cannot be adopted."),
        adoption.ADOPTED_ALREADY: _("Your library has adopted this national poll already."),
    }
    if message.startswith(adoption.CANNOT_COPY):
        return _("That national poll cannot be copied (its options are not readable).")
    return known.get(message) or explain(message)
