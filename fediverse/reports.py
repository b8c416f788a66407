"""Reports from other servers: a `Flag` names actors and objects and says why.

Mastodon sends a report to the server of the reported account, from its
instance actor: `object` is an array of the reported actor's id and/or the ids
of the reported posts (here: our library actor, our polls), and `content` is
the reporter's comment, as plain text. We keep the comment as plain text (any
markup reduced to its text, capped in length) and the ids as given; the admin
shows them escaped, beside what each id names on this instance.
"""

from __future__ import annotations

import html
import logging
import time

import nh3

from activitypub.vocab import JsonObject, as_list, get_id

from .services import Services

log = logging.getLogger(__name__)
MAX_COMMENT_CHARS = 5_000
MAX_OBJECTS = 50
MAX_ID_CHARS = 2_000


async def on_flag(services: Services, activity: JsonObject, actor: str,
                  inbox_owner: str | None) -> None:
    objects = flagged_ids(activity)
    if not objects:
        log.info("report %s names no object; ignored", get_id(activity))
        return
    await services.store.save_report(str(activity["id"]), actor,
                                     comment_of(activity.get("content")), objects, time.time())


def flagged_ids(activity: JsonObject) -> tuple[str, ...]:
    """The http(s) ids the report names, each once, in order (a bounded number)."""
    ids = (get_id(item) for item in as_list(activity.get("object"))[:MAX_OBJECTS])
    return tuple(dict.fromkeys(
        i for i in ids
        if i and i.startswith(("https://", "http://")) and len(i) <= MAX_ID_CHARS
        and _text(i) == i))


def comment_of(content: object) -> str:
    """The comment as plain text: tags dropped, entities decoded, length capped.
    (Templates escape it again when they show it.)"""
    if not isinstance(content, str):
        return ""
    text = html.unescape(nh3.clean(_text(content[:MAX_COMMENT_CHARS * 2]), tags=set()))
    return text.strip()[:MAX_COMMENT_CHARS]


def _text(value: str) -> str:
    """Valid JSON may carry lone surrogates, which SQLite cannot store: they become '?'."""
    return value.encode("utf-8", "replace").decode("utf-8")
