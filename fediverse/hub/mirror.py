"""The hub mirrors the polls of the libraries it follows, from their Create,
Update and Delete of a Question.

The inbox has already checked that the Question's id is on the signer's host
and attributed to the signer (403 otherwise, security.md A42); here the signer
must also be a library the hub follows (accepted), or the Question is ignored.
The first time the hub sees a library's public, open poll it boosts it to its
own followers, so that one follow of the hub shows every library's polls;
votes still go to the library that owns the poll.
"""

from __future__ import annotations

import logging
import time

from activitypub.errors import MalformedError
from activitypub.vocab import JsonObject, as_list, get_id, has_type

from ..outgoing import announce_of
from ..services import Services
from ..storage import MirroredPoll
from . import discussion
from .national import refusal_of
from .reports import merged, report_from

log = logging.getLogger(__name__)


async def on_create(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    await on_update(services, activity, actor, inbox_owner)


async def on_update(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    if not services.settings.is_hub:
        return
    for obj in as_list(activity.get("object")):
        if isinstance(obj, dict) and has_type(obj, "Question"):
            await _mirror(services, obj, actor)


async def on_delete(services: Services, activity: JsonObject, actor: str,
                    inbox_owner: str | None) -> None:
    """A library deleted its poll: it leaves the national pages (and totals)."""
    if not services.settings.is_hub:
        return
    held = await services.store.mirrored_poll(get_id(activity.get("object")) or "")
    if held is not None and held.library == actor:
        await services.store.delete_mirrored_poll(held.id, time.time())
        await services.store.tombstone_object(held.id, time.time())


async def hub_username(services: Services) -> str:
    return (await services.store.local_actors())[0].username


async def followed_libraries(services: Services) -> set[str]:
    """The actors the hub follows whose Follow was accepted."""
    follows = await services.store.following(await hub_username(services))
    return {f.actor_id for f in follows if f.state == "accepted"}


async def _mirror(services: Services, question: JsonObject, actor: str) -> None:
    store = services.store
    if actor not in await followed_libraries(services):
        log.info("Question from %s ignored: not a library the hub follows", actor)
        return
    if await store.is_object_tombstoned(get_id(question) or ""):
        return  # deleted: a late Update does not bring it back
    now = time.time()
    try:
        report = report_from(question, actor, now, await _national_poll(services, question))
    except MalformedError as exc:
        log.info("Question from %s not mirrored: %s", actor, exc)
        return
    held = await store.mirrored_poll(report.id)
    update = merged(held, report)
    if update is None:
        return  # a replay or an older report: what we hold is newer
    await store.save_mirrored_poll(update)
    await _log_mismatch(services, update)
    if held is None and update.public and not update.closed:
        await _announce(services, update.id, now)
    if update.national_poll is not None:
        await discussion.refresh(services, question, update)


async def _national_poll(services: Services, question: JsonObject) -> int | None:
    """The hub's own poll this one adopts (our `nationalPoll` extension), if any."""
    poll_id = services.urls.poll_id_of(get_id(question.get("nationalPoll")) or "")
    if poll_id is None or await services.store.poll(poll_id) is None:
        return None
    return poll_id


async def _log_mismatch(services: Services, copy: MirroredPoll) -> None:
    """A copy that does not match is kept and shown with the reason (the pages check
    it against the national poll as it is then); the log records it as it arrives."""
    national = (await services.store.poll(copy.national_poll)
                if copy.national_poll is not None else None)
    reason = refusal_of(copy, national) if national is not None else None
    if reason:
        log.info("copy %s of national poll %s not added up: %s", copy.id, copy.national_poll,
                 reason)


async def _announce(services: Services, poll_id: str, now: float) -> None:
    username = await hub_username(services)
    urls = services.urls
    activity = announce_of(urls.actor(username), poll_id, urls.followers(username), urls, now)
    await services.outbox.publish(username, activity,
                                  await services.store.follower_inboxes(username), public=True)
