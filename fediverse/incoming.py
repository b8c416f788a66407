"""Processing stored inbox activities: type -> handler.

The inbox stores every authenticated activity before answering 202; this
worker applies them in arrival order. Unknown types are acknowledged and
marked processed. A handler that fails records the reason on the row; the
activity is not retried (as with Mastodon, a 202 promises storage, not effect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from activitypub.vocab import JsonObject, get_id

from . import follows, poll_activities
from .services import Services

log = logging.getLogger(__name__)

Handler = Callable[[Services, JsonObject, str], Awaitable[None]]

HANDLERS: dict[str, tuple[Handler, ...]] = {
    "Follow": (follows.on_follow,),
    "Undo": (follows.on_undo,),
    "Accept": (follows.on_accept,),
    "Reject": (follows.on_reject,),
    "Create": (poll_activities.on_create,),
    "Update": (poll_activities.on_update,),
    "Delete": (follows.on_delete, poll_activities.on_delete),
}


class InboxWorker:
    def __init__(self, services: Services,
                 handlers: dict[str, tuple[Handler, ...]] | None = None) -> None:
        self._services = services
        self._handlers = HANDLERS if handlers is None else handlers

    async def run_once(self, limit: int = 200) -> int:
        """Apply every pending activity; returns how many were processed."""
        store = self._services.store
        done = 0
        while pending := await store.pending_inbox_activities(limit):
            for row in pending:
                error = await self._apply(json.loads(row.body), row.actor)
                await store.mark_inbox_processed(row.id, time.time(), error)
            done += len(pending)
        return done

    async def run_forever(self) -> None:
        wake = self._services.inbox_wake
        while True:
            wake.clear()
            await self.run_once()
            try:  # not wait_for: on 3.11 it can swallow a cancel that lands as `wake` is set
                async with asyncio.timeout(5.0):
                    await wake.wait()
            except TimeoutError:
                pass

    async def _apply(self, activity: JsonObject, actor: str) -> str | None:
        handlers = self._handlers.get(activity["type"], ())
        if not handlers:
            log.debug("ignored %s %s", activity["type"], get_id(activity))
        try:
            for handler in handlers:
                await handler(self._services, activity, actor)
        except Exception as exc:  # a loop edge: record the reason, keep going
            log.exception("processing %s failed", get_id(activity))
            return f"{type(exc).__name__}: {exc}"[:500]
        return None
