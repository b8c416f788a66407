"""Processing stored inbox activities: type -> handler.

The inbox stores every authenticated activity before answering 202; this
worker applies them in arrival order wherever order can matter: activities
that share an actor or an object (a Follow and its Undo, alice's reply and
bob's Delete of it) form one chain, applied in turn. Independent chains (the
votes of different voters, say) run side by side, so that their writes share
group commits instead of each waiting for the disk in turn. Unknown types are
acknowledged and marked processed. A handler that fails records the reason on the row; the
activity is not retried (as with Mastodon, a 202 promises storage, not effect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from activitypub.vocab import JsonObject, as_list, get_id

from . import follows, poll_activities, reports
from .hub import mirror
from .services import Services
from .storage import InboxActivity

log = logging.getLogger(__name__)

Handler = Callable[[Services, JsonObject, str, str | None], Awaitable[None]]
"""Called with the activity, its authenticated actor, and the local actor whose
personal inbox it came in at (None: the shared inbox), which decides whether a
vote counts (security.md A22)."""

HANDLERS: dict[str, tuple[Handler, ...]] = {
    "Follow": (follows.on_follow,),
    "Undo": (follows.on_undo,),
    "Accept": (follows.on_accept,),
    "Reject": (follows.on_reject,),
    "Create": (poll_activities.on_create, mirror.on_create),
    "Update": (poll_activities.on_update, mirror.on_update),
    "Delete": (follows.on_delete, poll_activities.on_delete, mirror.on_delete),
    "Flag": (reports.on_flag,),
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
            await asyncio.gather(*(self._apply_in_order(chain) for chain in _chains(pending)))
            done += len(pending)
        return done

    async def _apply_in_order(self, chain: list[tuple[InboxActivity, JsonObject]]) -> None:
        for row, activity in chain:
            error = await self._apply(activity, row)
            await self._services.store.mark_inbox_processed(row.id, time.time(), error)

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

    async def _apply(self, activity: JsonObject, row: InboxActivity) -> str | None:
        handlers = self._handlers.get(activity["type"], ())
        if not handlers:
            log.debug("ignored %s %s", activity["type"], get_id(activity))
        try:
            for handler in handlers:
                await handler(self._services, activity, row.actor, row.inbox_owner)
        except Exception as exc:  # a loop edge: record the reason, keep going
            log.exception("processing %s failed", get_id(activity))
            return f"{type(exc).__name__}: {exc}"[:500]
        return None


def _chains(rows: list[InboxActivity]) -> list[list[tuple[InboxActivity, JsonObject]]]:
    """The rows, parsed, in chains that each keep arrival order: two activities are in
    one chain when they share an actor or an object id, directly or through others."""
    parsed = [(row, json.loads(row.body)) for row in rows]
    parent = list(range(len(parsed)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, (row, activity) in enumerate(parsed):
        for key in {row.actor, *(get_id(o) for o in as_list(activity.get("object")))}:
            if key is not None:
                parent[root(i)] = root(first.setdefault(key, i))
    chains: dict[int, list[tuple[InboxActivity, JsonObject]]] = {}
    for i, item in enumerate(parsed):
        chains.setdefault(root(i), []).append(item)
    return list(chains.values())
