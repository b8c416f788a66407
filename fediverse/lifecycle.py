"""A poll's life as staff drive it: publish, edit, close, reopen, delete.

The CLI and the JSON API both call these, so the rules (what locks once
votes exist, which activity goes to whom) live in one place.
"""

from __future__ import annotations

import time

from activitypub.errors import NotFound

from .hub.reporting import hub_inboxes
from .outgoing import create_of, delete_of, question_for, tally_update_of
from .polls import Poll, PollDraft, PollError, check_edit, check_end_time, validate
from .services import Services


async def publish_poll(services: Services, username: str, draft: PollDraft, *,
                       national_poll: str | None = None) -> Poll:
    """Store a new poll and send Create(Question) to every follower (and the hubs);
    `national_poll` links an adopted copy to the hub's Question."""
    now = time.time()
    if await services.store.local_actor(username) is None:
        raise NotFound(f"no local actor {username!r}")
    poll = await services.store.create_poll(username, validate(draft, now), now)
    if national_poll is not None:
        await services.store.link_national_poll(poll.id, national_poll)
    question = await current_question(services, poll, now)
    await services.outbox.publish(username, create_of(question),
                                  [*await services.store.follower_inboxes(username),
                                   *await hub_inboxes(services)], public=True)
    return poll


async def edit_poll(services: Services, poll_id: int, draft: PollDraft) -> Poll:
    """Edit texts (always) and options (only before the first vote); sends an edit Update
    whose `updated` only ever moves forward."""
    poll = await existing_poll(services, poll_id)
    now = time.time()
    cleaned = validate(draft, now, new_end_time=draft.end_time != poll.end_time)
    check_edit(poll, cleaned, await services.store.has_votes(poll_id))
    edited_at = max(now, (poll.edited_at or 0) + 1)
    await services.store.edit_poll(poll_id, cleaned, edited_at)
    return await announce(services, poll_id)


async def close_poll(services: Services, poll_id: int) -> Poll:
    """Close now (the planned end is kept for a reopen); the final Update goes out
    through the tally worker."""
    poll = await existing_poll(services, poll_id)
    now = time.time()
    if not poll.is_open(now):
        raise PollError("the poll is closed already")
    await services.store.set_poll_end(poll_id, poll.end_time, now)
    return await existing_poll(services, poll_id)


async def reopen_poll(services: Services, poll_id: int, end_time: float | None = None) -> Poll:
    """Reopen a poll closed early, before its planned end (or a new end time)."""
    poll = await existing_poll(services, poll_id)
    now = time.time()
    end = poll.end_time if end_time is None else end_time
    if poll.closed_at is None:
        raise PollError("only a poll that was closed early can be reopened")
    check_end_time(end, now)
    await services.store.set_poll_end(poll_id, end, None)
    return await announce(services, poll_id)


async def delete_poll(services: Services, poll_id: int) -> None:
    """Delete{Tombstone} to everyone who saw it; the id then answers 404 for good."""
    poll = await existing_poll(services, poll_id)
    inboxes = await recipients(services, poll)
    await services.store.delete_poll(poll_id, time.time())
    await services.outbox.publish(poll.local_username, delete_of(poll, services.urls), inboxes,
                                  public=True)


async def announce(services: Services, poll_id: int) -> Poll:
    """Send the poll as it is now (Update) to followers and voters."""
    poll = await existing_poll(services, poll_id)
    now = time.time()
    question = await current_question(services, poll, now)
    await services.outbox.publish(poll.local_username, tally_update_of(question, now),
                                  await recipients(services, poll), public=True)
    return poll


async def current_question(services: Services, poll: Poll, now: float) -> dict[str, object]:
    store = services.store
    return question_for(poll, await store.tally(poll.id), await store.reply_count(poll.id),
                        services.urls, now, national_poll=await store.national_poll_of(poll.id))


async def recipients(services: Services, poll: Poll) -> list[str]:
    """Followers, everyone who voted, and the hubs."""
    store = services.store
    return [*await store.follower_inboxes(poll.local_username),
            *await store.voter_inboxes(poll.id), *await hub_inboxes(services)]


async def existing_poll(services: Services, poll_id: int) -> Poll:
    poll = await services.store.poll(poll_id)
    if poll is None:
        raise NotFound(f"no poll {poll_id}")
    return poll
