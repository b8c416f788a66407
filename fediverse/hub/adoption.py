"""A library adopts a national poll: its own copy, linked to the hub's Question.

The copy is the library's own poll in every way (its followers vote on it, its
staff moderate its discussion, its texts can be edited); what it shares with
the national poll is what makes adding up honest: the same options in the same
order, the same choice mode and the same end time. The link is our
`nationalPoll` extension on the copy's Question (FEDERATION.md).
"""

from __future__ import annotations

from activitypub.errors import MalformedError
from activitypub.vocab import get_id, has_type, host_of

from ..lifecycle import publish_poll
from ..polls import Poll, PollDraft, PollError
from ..services import Services
from .reports import options_of, parse_time, plain_text

NOT_A_POLL = "that address is not a poll"
FOREIGN_POLL = "the poll is not attributed to an actor of its own host"
CLOSED = "the national poll is closed"
CANNOT_COPY = "the national poll cannot be copied"
NO_END_TIME = "the national poll has no end time"
ADOPTED_ALREADY = "this library has adopted that national poll already"


async def adopt(services: Services, username: str, url: str) -> Poll:
    """Fetch the national Question (signed GET, SSRF-guarded, id checked) and publish
    the library's copy of it; a second copy of one national poll is refused (two
    copies would count the library's public twice). Refusals raise PollError with
    one of the messages above (the admin translates them) or FetchError."""
    if await adopted_copy(services, username, url) is not None:
        raise PollError(ADOPTED_ALREADY)
    question = await services.client.fetch_object(url)
    if not has_type(question, "Question"):
        raise PollError(NOT_A_POLL)
    if host_of(get_id(question.get("attributedTo")) or "") != host_of(url):
        raise PollError(FOREIGN_POLL)
    if question.get("closed") not in (None, False):
        raise PollError(CLOSED)
    try:
        options, counts = options_of(question)
        text = plain_text(question.get("content"))
    except MalformedError as exc:
        raise PollError(f"{CANNOT_COPY}: {exc}") from exc
    end_time = parse_time(question.get("endTime"))
    if end_time is None:
        raise PollError(NO_END_TIME)
    draft = PollDraft(question=text, end_time=end_time, options=options,
                      multiple="anyOf" in question, hide_results=counts is None)
    return await publish_poll(services, username, draft, national_poll=url)


async def adopted_copy(services: Services, username: str, url: str) -> Poll | None:
    """The library's copy of the national poll at `url`, if it adopted it."""
    for poll in await services.store.polls(username):
        if await services.store.national_poll_of(poll.id) == url:
            return poll
    return None
