"""The hub keeps asking: a library that has not answered its Follow is asked again.

A Follow can be lost (the library was down past the delivery retries, or
dropped it); Mastodon itself re-sends a Follow with a new id when its state is
lost. A library that refused (Reject) is not asked again automatically; staff
can with `peiling hub retry`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from activitypub.errors import ActivityPubError

from .. import follows
from ..services import Services

log = logging.getLogger(__name__)
RETRY_SECONDS = 6 * 3600.0


async def follow_again(services: Services, username: str,
                       targets: list[str]) -> dict[str, str]:
    """Send a new Follow to each (handle or actor id); returns why each that could not
    be reached was not."""
    failed = {}
    for target in targets:
        try:
            await follows.follow(services, username, target)
        except ActivityPubError as exc:
            log.info("follow of %s not sent: %s", target, exc)
            failed[target] = str(exc)
    return failed


class FollowRetry:
    """While a hub serves: Follows pending for `RETRY_SECONDS` are sent again."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._clock = clock

    async def run_once(self) -> int:
        store = self._services.store
        username = (await store.local_actors())[0].username
        due = [f.actor_id for f in await store.following(username)
               if f.state == "pending" and f.created_at <= self._clock() - RETRY_SECONDS]
        failed = await follow_again(self._services, username, due)
        return len(due) - len(failed)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a loop edge: try again at the next round
                log.exception("sending Follows again failed")
            await asyncio.sleep(600)
