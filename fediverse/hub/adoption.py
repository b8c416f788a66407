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


async def adopt(services: Services, username: str, url: str) -> Poll:
    """Fetch the national Question (signed GET, SSRF-guarded, id checked) and publish
    the library's copy of it."""
    question = await services.client.fetch_object(url)
    if not has_type(question, "Question"):
        raise PollError(f"{url} is not a poll")
    if host_of(get_id(question.get("attributedTo")) or "") != host_of(url):
        raise PollError("the poll is not attributed to an actor of its own host")
    if question.get("closed") not in (None, False):
        raise PollError("the national poll is closed")
    try:
        options, counts = options_of(question)
        text = plain_text(question.get("content"))
    except MalformedError as exc:
        raise PollError(f"the national poll cannot be copied: {exc}") from exc
    end_time = parse_time(question.get("endTime"))
    if end_time is None:
        raise PollError("the national poll has no end time")
    draft = PollDraft(question=text, end_time=end_time, options=options,
                      multiple="anyOf" in question, hide_results=counts is None)
    return await publish_poll(services, username, draft, national_poll=url)
