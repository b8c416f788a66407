"""A busy host's slots are refilled from memory, not from a database claim each.

Rows leased beyond a host's free slots wait in the worker; a slot is free as
soon as its POST is over (writing down the answer is no request to the host),
and the next waiting row takes it at once. So a big fan-out to one server
claims rows about once per `per_host` sends, and a slow outcome write (waiting
for its group commit) never holds up the sends behind it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from harness import FakeRemote, RunningInstance

from fediverse.delivery import DeliveryWorker, Outbox

RECORDING_SECONDS = 0.3


class StaggeredRemote(FakeRemote):
    """Answers after 1-4 ms and notes when, so that sends finish one by one."""

    arrived: list[float]

    async def _inbox(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.001 * (1 + len(self.received) % 4))
        self.arrived.append(time.monotonic())
        return await super()._inbox(request)


class SlowRecordingStore:
    """The instance's store, counting the claims that found rows; writing down a
    finished delivery takes `RECORDING_SECONDS`."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.claims = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def lease_due_deliveries(self, *args: Any) -> Any:
        rows = await self._store.lease_due_deliveries(*args)
        self.claims += bool(rows)
        return rows

    async def finish_delivery(self, *args: Any) -> None:
        await asyncio.sleep(RECORDING_SECONDS)
        await self._store.finish_delivery(*args)


@pytest.fixture
async def staggered() -> AsyncIterator[StaggeredRemote]:
    remote = StaggeredRemote()
    remote.arrived = []
    await remote.start()
    yield remote
    await remote.stop()


async def test_a_busy_host_is_refilled_without_waiting_for_the_store(
    instance: RunningInstance, staggered: StaggeredRemote,
):
    # Given one Create for 40 inboxes on one server, 4 at a time
    services = instance.services
    inboxes = [f"{staggered.base}/users/u{i}/inbox" for i in range(40)]
    activity = {"id": services.urls.new_activity(), "type": "Create",
                "actor": instance.actor_id, "object": {"type": "Note", "content": "hallo"}}
    await Outbox(services.store, services.urls, asyncio.Event()).publish(
        instance.username, activity, inboxes)
    store = SlowRecordingStore(services.store)
    worker = DeliveryWorker(store, services.client, services.urls, workers=64, per_host=4,
                            give_up_seconds=3600, unavailable_seconds=86400,
                            wake=asyncio.Event(), clock=time.time)

    # When the production loop runs until every row is done
    task = asyncio.create_task(worker.run_forever())
    try:
        async with asyncio.timeout(30):
            while True:  # the rows' state is the only signal there is
                if (await services.store.delivery_counts())["done"] == 40:
                    break
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # Then every inbox got it once; the sends did not wait for the slow writes
    # (ten rounds of them would take 3 s), and rows were claimed about once per
    # four sends
    assert Counter(r.path for r in staggered.received) == Counter(
        {f"/users/u{i}/inbox": 1 for i in range(40)})
    assert staggered.arrived[-1] - staggered.arrived[0] < 3 * RECORDING_SECONDS
    assert store.claims <= 40 / 4 + 2
