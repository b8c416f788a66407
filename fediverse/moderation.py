"""What staff do about the discussion and about other servers: approve, hide or
delete a reply; block an actor or a whole domain; purge what they left behind.

A block is enforced at the inbox (`authentication`): from then on their
activities are refused with 403 before anything is stored. A purge removes the
votes, replies and follows they left before the block and recounts the tallies
from the remaining votes (security.md A35); like a change to the visible
replies, it owes each poll one tally Update, which the tally worker sends.
The admin pages and the `peiling block` command both call these.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from activitypub.errors import NotFound
from activitypub.vocab import domain_of

from .services import Services
from .storage import PurgeResult, ReplyState

REPLY_ACTIONS: dict[str, ReplyState | None] = {"approve": "visible", "hide": "hidden",
                                               "delete": None}
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]"
                    r"([a-z0-9-]{0,61}[a-z0-9])?")
MAX_ACTOR_ID = 2000


class ModerationError(ValueError):
    """A block or purge that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Target:
    """Whom a block or purge is about: one actor (its id) or a domain."""

    kind: Literal["actor", "domain"]
    value: str


def target_of(text: str, own_base_url: str) -> Target:
    """An actor id (an http(s) URL) or a domain name, as staff typed it; never this
    instance's own domain or one of its own actors."""
    text = text.strip()
    if text.startswith(("https://", "http://")):
        try:
            host = urlsplit(text).hostname
        except ValueError:
            host = None
        if not host or len(text) > MAX_ACTOR_ID or any(c.isspace() for c in text):
            raise ModerationError("an actor must be a full URL such as"
                                  " https://social.example/users/name")
        target = Target("actor", text)
    else:
        domain = text.lower().rstrip(".")
        if not DOMAIN.fullmatch(domain):
            raise ModerationError("a domain is a host name such as social.example")
        target = Target("domain", domain)
    if (target.value == domain_of(own_base_url)
            or target.value.startswith(f"{own_base_url}/")):
        raise ModerationError("this instance cannot block itself")
    return target


async def block(services: Services, target: Target) -> None:
    if target.kind == "actor":
        await services.store.block_actor(target.value, time.time())
    else:
        await services.store.block_domain(target.value, time.time())


async def unblock(services: Services, target: Target) -> bool:
    if target.kind == "actor":
        return await services.store.unblock_actor(target.value)
    return await services.store.unblock_domain(target.value)


async def purge(services: Services, target: Target) -> PurgeResult:
    """Remove their votes, replies and follows; tallies recounted, Updates owed."""
    store, now = services.store, time.time()
    if target.kind == "actor":
        return await store.purge_actor(target.value, now)
    return await store.purge_domain(target.value, now)


async def moderate_reply(services: Services, reply_id: str, action: str) -> int:
    """Approve, hide or delete one reply; returns its poll's id. A deleted remote
    reply is tombstoned, so a re-sent Create does not bring it back."""
    if action not in REPLY_ACTIONS:
        raise ModerationError(f"unknown action {action[:20]!r}")
    reply = await services.store.reply(reply_id)
    if reply is None:
        raise NotFound("no such reply")
    state = REPLY_ACTIONS[action]
    if state is None:
        await services.store.delete_reply(reply_id, time.time())
    else:
        await services.store.set_reply_state(reply_id, state)
    return reply.poll_id  # the store owes the poll a tally Update (its replies count)
