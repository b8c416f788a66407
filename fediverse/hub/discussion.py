"""The discussion of every copy of a national poll, shown on the hub's page.

The hub reads each copy's `replies` collection (a signed GET of the library's
collection, then of each reply at its author's server), so every comment it
shows is the author's own document, with the id it was fetched from, never a
copy that a library or anyone else vouches for. Bounded: the first
`MAX_REPLIES` of each copy, read again only when the copy's reply count
changed, when the library reports. A reply that cannot be fetched (a deleted
note, a host that is down) is left out. A comment made on the library's own
page is the library's Note and is fetched like any reply.
"""

from __future__ import annotations

import logging
import time

from activitypub.errors import ActivityPubError
from activitypub.vocab import JsonObject, as_list, get_id, has_type, host_of

from ..comments import MAX_NAME_CHARS, commenter_line
from ..discussion import sanitize_remote_html
from ..services import Services
from ..storage import HubReply, MirroredPoll
from .reports import parse_time

log = logging.getLogger(__name__)
MAX_REPLIES = 20


async def refresh(services: Services, question: JsonObject, copy: MirroredPoll) -> None:
    collection = question.get("replies")
    total = collection.get("totalItems") if isinstance(collection, dict) else None
    url = get_id(collection)
    if not isinstance(total, int) or not url or host_of(url) != host_of(copy.id):
        return
    held = await services.store.hub_replies([copy.id])
    if len(held) == min(total, MAX_REPLIES):
        return
    try:
        document = await services.client.fetch_object(url)
    except ActivityPubError as exc:
        log.info("replies of %s not read: %s", copy.id, exc)
        return
    items = as_list(document.get("orderedItems", document.get("items")))[:MAX_REPLIES]
    replies = [reply for item in items
               if (reply := await _reply(services, get_id(item), copy)) is not None]
    await services.store.replace_hub_replies(copy.id, replies)


async def _reply(services: Services, reply_id: str | None, copy: MirroredPoll,
                 ) -> HubReply | None:
    if not reply_id:
        return None
    try:
        note = await services.client.fetch_object(reply_id)
        author_id = get_id(note.get("attributedTo")) or ""
        if not has_type(note, "Note") or get_id(note.get("inReplyTo")) != copy.id \
                or host_of(author_id) != host_of(reply_id):
            return None
        content = note.get("content")
        if not isinstance(content, str) or not content.strip():
            return None
        name, url, content = await _authorship(services, note, author_id, copy, content)
    except ActivityPubError as exc:
        log.info("reply %s not read: %s", reply_id, exc)
        return None
    return HubReply(id=reply_id, hub_poll=copy.id, author_name=name, author_url=url,
                    content=sanitize_remote_html(content),
                    published_at=min(parse_time(note.get("published")) or time.time(),
                                     time.time()))


async def _authorship(services: Services, note: JsonObject, author_id: str,
                      copy: MirroredPoll, content: str) -> tuple[str, str | None, str]:
    """Who wrote the reply, a link to them, and its text. A comment made on the
    library's own page is a Note by the library that names the commenter
    (`commenterName`): shown under that name, without a link (the commenter has
    no actor) and without the sentence that repeats the name."""
    commenter = note.get("commenterName")
    if author_id == copy.library and isinstance(commenter, str) and commenter.strip():
        name = " ".join(commenter.split())[:MAX_NAME_CHARS]
        return name, None, content.removeprefix(commenter_line(commenter))
    author = await services.directory.actor(author_id)
    return author.name or author.username or author_id, author.url or author_id, content
