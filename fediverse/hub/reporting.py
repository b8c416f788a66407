"""The library's side: its counts reach the hubs named in the `hubs` setting.

A hub that follows the library already gets every public tally Update as a
follower; naming it in `hubs` also makes sure it is among the recipients when
it does not (yet) follow, and is the only way it gets the counts of a poll
that hides its results: those go in an Update addressed to the hubs alone.
"""

from __future__ import annotations

import logging

from activitypub.errors import ActivityPubError

from ..outgoing import private_tally_update_of, question_for
from ..polls import Poll
from ..services import Services

log = logging.getLogger(__name__)


async def hub_inboxes(services: Services) -> list[str]:
    """The inboxes of the configured hubs; one that cannot be reached is left out
    (the next Update tries again)."""
    found = []
    for hub in services.settings.hubs:
        try:
            found.append((await services.directory.actor(hub)).preferred_inbox)
        except ActivityPubError as exc:
            log.warning("hub %s is unreachable: %s", hub, exc)
    return found


async def send_private_counts(services: Services, poll: Poll, now: float) -> int:
    """The counts of a results-hidden poll, to the hubs only. Returns 1 if sent."""
    inboxes = await hub_inboxes(services)
    if not inboxes:
        return 0
    store = services.store
    question = question_for(poll, await store.tally(poll.id), await store.reply_count(poll.id),
                            services.urls, now, reveal=True,
                            national_poll=await store.national_poll_of(poll.id))
    activity = private_tally_update_of(question, list(services.settings.hubs), now)
    await services.outbox.publish(poll.local_username, activity, inboxes)
    return 1
