"""While serving, no commit copies the write-ahead log into the database itself.

SQLite's own rule (checkpoint inside the commit that takes the log past 1,000
pages) makes one batch of voters wait for megabytes of copying; the serving
store checkpoints from a connection of its own instead (`storage.checkpoints`).
The log must still stay small, and once serving stops, SQLite's own rule is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fediverse.storage import InboxActivity, checkpoints
from fediverse.storage.sqlite import SqliteStore

ROW_BYTES = 200_000  # each stored activity takes about 50 pages of log
MIB = 1 << 20


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "peiling.sqlite3")
    yield opened
    await opened.close()


@contextlib.asynccontextmanager
async def checkpointing(store: SqliteStore, interval: float) -> AsyncIterator[None]:
    task = asyncio.create_task(store.checkpoint_forever(interval))
    await asyncio.sleep(0.05)  # it has switched the writer's own checkpoints off
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def write_megabytes(store: SqliteStore, megabytes: int, tag: str) -> None:
    for n in range(megabytes * MIB // ROW_BYTES):
        await store.save_inbox_activity(InboxActivity(
            id=f"https://m.example/{tag}/{n}", actor="https://m.example/users/a",
            type="Create", body="x" * ROW_BYTES, received_at=time.time()))


def log_size(tmp_path: Path) -> int:
    return os.path.getsize(tmp_path / "peiling.sqlite3-wal")


async def autocheckpoint_pages(store: SqliteStore) -> int:
    async with store._db.execute("PRAGMA wal_autocheckpoint") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def test_the_log_stays_small_while_serving_though_commits_never_copy_it(
        store, tmp_path):
    # Given a serving store that checkpoints every 50 ms
    async with checkpointing(store, interval=0.05):
        # Then its writes leave the copying to the checkpointer
        assert await autocheckpoint_pages(store) == 0

        # When 24 MiB are written, a megabyte at a time, with time for checkpoints between
        for n in range(24):
            await write_megabytes(store, 1, f"round{n}")
            await asyncio.sleep(0.15)

        # Then the log was started over again and again instead of growing to 24 MiB
        assert log_size(tmp_path) < 8 * MIB
    # And once serving stops, SQLite's own checkpoints are back
    assert await autocheckpoint_pages(store) == 1000


async def test_without_the_checkpointer_the_same_writes_would_pile_up(store, tmp_path):
    # Given a writer whose own checkpoints are off and nobody checkpointing (the
    # control for the test above: the log's size there is the checkpointer's doing)
    await store._db.execute("PRAGMA wal_autocheckpoint=0")

    # When the same 24 MiB are written
    for n in range(24):
        await write_megabytes(store, 1, f"round{n}")

    # Then the log holds all of them
    assert log_size(tmp_path) > 20 * MIB


async def test_everything_written_is_readable_from_the_database_after_checkpoints(
        tmp_path):
    # Given rows written while the checkpointer copies them
    store = await SqliteStore.open(tmp_path / "peiling.sqlite3")
    async with checkpointing(store, interval=0.01):
        await write_megabytes(store, 4, "kept")
        await asyncio.sleep(0.1)
    await store.close()

    # When the database is opened afresh
    reopened = await SqliteStore.open(tmp_path / "peiling.sqlite3")
    try:
        # Then every row is there
        assert await reopened.inbox_activity_count() == 4 * MIB // ROW_BYTES
    finally:
        await reopened.close()


async def test_a_failed_checkpoint_is_logged_and_the_next_one_still_runs(
        store, tmp_path, monkeypatch, caplog):
    # Given a checkpointer whose first checkpoint fails
    calls = []
    real = checkpoints.Checkpointer.checkpoint

    def flaky(self: checkpoints.Checkpointer) -> tuple[int, int, int]:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real(self)
    monkeypatch.setattr(checkpoints.Checkpointer, "checkpoint", flaky)

    # When it runs for a while
    async with checkpointing(store, interval=0.02):
        await asyncio.sleep(0.2)

    # Then the failure was logged and it went on checkpointing
    assert "WAL checkpoint failed" in caplog.text
    assert len(calls) >= 3
