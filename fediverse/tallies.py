"""Results reach every timeline: debounced tally Updates and one final Update.

A vote marks its poll dirty (in the same transaction that counts it); once
the first unsent vote is `debounce` seconds old, one Update(Question) with the
committed counts goes to followers, voters and the hubs (for a poll that
hides its results, to the hubs only, privately: `hub.reporting`). When a poll
closes, exactly one final Update with `closed` goes out, and none after it:
older Mastodon versions re-notify voters on every Update received after the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .hub.reporting import send_private_counts
from .lifecycle import current_question, recipients
from .outgoing import tally_update_of
from .services import Services

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


class TallyWorker:
    def __init__(self, services: Services, *, debounce_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._debounce = debounce_seconds
        self._clock = clock

    async def run_once(self) -> int:
        """Send what is due now; returns how many Updates were queued."""
        now = self._clock()
        store = self._services.store
        sent = 0
        for poll_id in await store.polls_to_finalise(now):
            sent += await self._send(poll_id, now)
            await store.mark_final_update_sent(poll_id)
        for poll_id in await store.take_due_tallies(now - self._debounce):
            poll = await store.poll(poll_id)
            if poll is None or not poll.is_open(now):
                continue
            if poll.hide_results:  # the public sees nothing yet; the hubs get the counts
                sent += await send_private_counts(self._services, poll, now)
            else:
                sent += await self._send(poll_id, now)
        return sent

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a loop edge: one bad tick (a locked database) must not end it
                log.exception("sending tally Updates failed; trying again next tick")
            await asyncio.sleep(TICK_SECONDS)

    async def _send(self, poll_id: int, now: float) -> int:
        poll = await self._services.store.poll(poll_id)
        if poll is None:
            return 0
        question = await current_question(self._services, poll, now)
        await self._services.outbox.publish(
            poll.local_username, tally_update_of(question, now),
            await recipients(self._services, poll), public=True)
        return 1
