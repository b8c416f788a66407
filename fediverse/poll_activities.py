"""Notes that answer our polls: votes, and replies that become the discussion.

Mastodon's rule decides which is which: a Note (or Pleroma's Answer) whose
`inReplyTo` is our Question and whose `name` is exactly an option is a vote,
whatever else it carries; otherwise one with `content` is a reply, and a bare
`name` that matches nothing is dropped, not shown as a reply. Everything is
answered 202 either way (the inbox already did); what does not count is simply
not counted.

A plain vote (a Create of one Note that counts) is recognised by the inbox as it
arrives (`vote_on_arrival`) and counted as its activity is stored; the worker
applies everything else, with the same rules. A vote sent to the personal inbox
of a local actor who does not own the poll does not count (security.md A22).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from activitypub.vocab import JsonObject, as_list, get_id, has_type, host_of

from . import polls
from .discussion import sanitize_remote_html
from .services import Services
from .storage import Ballot, RemoteActor, Reply

log = logging.getLogger(__name__)
NOTE_TYPES = ("Note", "Answer", "Article", "Page")


async def on_create(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    """GoToSocial may one day put several votes in one Create: each object counts."""
    for obj in as_list(activity.get("object")):
        if isinstance(obj, dict) and has_type(obj, *NOTE_TYPES):
            await _answer(services, obj, actor, inbox_owner)


async def on_update(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    """An edited reply replaces its text; only its author can edit it."""
    obj = activity.get("object")
    if not isinstance(obj, dict) or not has_type(obj, *NOTE_TYPES):
        return
    reply = await services.store.reply(get_id(obj) or "")
    if reply is None or reply.actor != actor or not isinstance(obj.get("content"), str):
        return
    await services.store.edit_reply(reply.id, sanitize_remote_html(obj["content"]),
                                    time.time())


async def on_delete(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    """A deleted reply goes, by its author only; an unknown id is remembered so a
    Create arriving after its Delete does not bring it back."""
    object_id = get_id(activity.get("object"))
    if not object_id or object_id == actor:
        return
    reply = await services.store.reply(object_id)
    if reply is not None and reply.actor != actor:
        return
    if reply is not None:
        await services.store.delete_reply(object_id, time.time())
    else:
        await services.store.tombstone_object(object_id, time.time())


def vote_on_arrival(services: Services, activity: JsonObject, actor: str) -> Ballot | None:
    """The vote a Create of one Note carries, for the store to count as it stores the
    activity (it checks the poll, the option and the Note there, where they cannot
    change under it). Anything else (several objects, a Note that is not in reply to
    one of our polls, a vote by one of our own actors) is None and left to the
    worker, which also logs why a vote did not count."""
    objects = as_list(activity.get("object"))
    if activity.get("type") != "Create" or len(objects) != 1:
        return None
    note = objects[0]
    if not isinstance(note, dict) or not has_type(note, *NOTE_TYPES):
        return None
    poll_id = services.urls.poll_id_of(get_id(note.get("inReplyTo")) or "")
    name = note.get("name")
    if poll_id is None or not isinstance(name, str) or services.urls.username_of(actor):
        return None
    return Ballot(poll_id, actor, name, str(note["id"]))


async def _answer(services: Services, note: JsonObject, actor: str,
                  inbox_owner: str | None) -> None:
    poll = await _poll_answered(services, note)
    if poll is None or await services.store.is_object_tombstoned(get_id(note) or ""):
        return  # not ours, or its Delete came first: a late Create does not revive it
    name = note.get("name")
    if isinstance(name, str) and polls.choices_for(poll, [name]):
        await _vote(services, poll, name, note, actor, inbox_owner)  # Mastodon ignores `content`
    elif _has_text(note):
        await _reply(services, poll, note, actor)


async def _poll_answered(services: Services, note: JsonObject) -> polls.Poll | None:
    """Our poll that `note` answers (`inReplyTo`), if any."""
    poll_id = services.urls.poll_id_of(get_id(note.get("inReplyTo")) or "")
    return await services.store.poll(poll_id) if poll_id is not None else None


def _refusal(services: Services, poll: polls.Poll, actor: str,
             inbox_owner: str | None) -> str | None:
    """`polls.refusal`, and GoToSocial's rule that a personal inbox takes votes only
    for its own actor's polls (security.md A22); the shared inbox takes any."""
    if inbox_owner is not None and inbox_owner != poll.local_username:
        return f"sent to the inbox of {inbox_owner}, who does not own the poll"
    return polls.refusal(poll, actor, time.time(), services.urls.actor(poll.local_username))


async def _vote(services: Services, poll: polls.Poll, name: str, note: JsonObject,
                actor: str, inbox_owner: str | None) -> None:
    reason = _refusal(services, poll, actor, inbox_owner)
    if reason:
        log.info("vote by %s on poll %s not counted: %s", actor, poll.id, reason)
        return
    await services.store.record_vote(poll.id, actor, polls.choices_for(poll, [name]),
                                     not poll.multiple, get_id(note), time.time())


async def _reply(services: Services, poll: polls.Poll, note: JsonObject, actor: str) -> None:
    author = await services.directory.actor(actor)
    await services.store.save_reply(Reply(
        id=str(note["id"]), poll_id=poll.id, actor=actor,
        author_name=author.name or author.username or actor,
        author_handle=_handle(author), author_url=author.url or actor,
        content=sanitize_remote_html(note["content"]),
        published_at=min(_timestamp(note.get("published")) or time.time(), time.time()),
    ))


def _has_text(note: JsonObject) -> bool:
    content = note.get("content")
    return isinstance(content, str) and bool(content.strip())


def _handle(author: RemoteActor) -> str | None:
    return f"@{author.username}@{host_of(author.id)}" if author.username else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
