"""Group commit: many waiting writes, one transaction, one wait for the disk.

With `synchronous=FULL` every COMMIT waits for the disk (about half a
millisecond on the benchmark machine), and one connection commits one
transaction at a time, so writes that each commit alone queue behind each
other's fsync: a busy inbox then spends its time waiting, not working. Here a
caller queues its item and waits; one writer task takes everything queued,
applies it in one transaction and answers every caller once COMMIT has
returned. While it waits for the disk, the next batch gathers. An answer still
means "on disk", and a lone caller waits no longer than before: the writer
starts as soon as it is idle, it never waits for company.

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
                 max_batch: int) -> None:
        """`apply` writes a batch in one transaction and returns one result per item."""
        self._apply = apply
        self._max_batch = max_batch
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
                batch = self._queue[:self._max_batch]
                del self._queue[:self._max_batch]
                await self._commit(batch)
        finally:  # cancelled with the loop: nobody may wait for ever
            for _, future in batch + self._queue:
                future.cancel()
            self._queue.clear()

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
