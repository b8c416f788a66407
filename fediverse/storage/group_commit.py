"""Group commit: many waiting writes, one transaction, one wait for the disk.

With `synchronous=FULL` every COMMIT waits for the disk (about half a
millisecond on the benchmark machine), and one connection commits one
transaction at a time, so writes that each commit alone queue behind each
other's fsync: a busy inbox then spends its time waiting, not working. Here a
caller queues its item and waits; one writer task takes what is queued (how
much, see below), applies it in one transaction and answers every caller once
COMMIT has returned. While it waits for the disk, the next batch gathers. An
answer still means "on disk", and a lone caller waits no longer than before:
the writer starts as soon as it is idle, it never waits for company.

A long queue is not taken whole. Busy peers deliver over a fixed number of
connections, each sending its next request once the last is answered. If one
commit held all of their requests, the event loop would have nothing to do
until the disk answered; then every peer's next request would arrive at once
and be gathered into one batch again: a convoy, with the loop idle during every
commit (a tenth of the time in the vote benchmark). So a batch is at most
`whole_up_to` items (16), or half of the queue when that is more: two groups take
turns, one answered and its next requests worked on while the other commits.
Batches stay large, because each has a cost of its own on the loop (the
hand-off to the database thread and back). In the vote benchmark (32
connections) this took the rate from 0.65-0.68 of the no-op endpoint's to
0.68-0.72; a plain cap of 12 made it worse (0.65-0.66); at 16 and 64
connections it changed nothing measurable.

A batch that raises is applied again item by item, so one bad item (a string
SQLite cannot encode, say) fails only its own caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(self, apply: Callable[[list[Item]], Awaitable[list[Result]]], *,
                 max_batch: int, whole_up_to: int = 16) -> None:
        """`apply` writes a batch in one transaction and returns one result per item;
        a batch is at most `max_batch` items, and `whole_up_to` or half the queue,
        whichever is more (see above)."""
        self._apply = apply
        self._max_batch = max_batch
        self._whole_up_to = whole_up_to
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Wait until `item` is committed; its result. A caller that is cancelled
        meanwhile does not take its item back: it may still be written."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def drain(self) -> None:
        """Wait until everything queued so far is written (before closing the store)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        await asyncio.sleep(0)  # callers woken in this same loop turn join the first batch
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._queue:
                size = self._batch_size(len(self._queue))
                batch = self._queue[:size]
                del self._queue[:size]
                await self._commit(batch)
        finally:  # cancelled with the loop: nobody may wait for ever
            for _, future in batch + self._queue:
                future.cancel()
            self._queue.clear()

    def _batch_size(self, waiting: int) -> int:
        """All of a short queue; of a long one half, but never fewer than `whole_up_to`."""
        return min(self._max_batch, waiting, max(self._whole_up_to, -(-waiting // 2)))

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._apply([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._commit([one])
            elif not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
