"""WAL checkpoints on a connection of their own, so that no commit waits for one.

By default SQLite checkpoints inside the COMMIT that takes the write-ahead log
past 1,000 pages: that one commit copies about 4 MB into the database file and
waits for the disk, and with group commit every caller in its batch waits too.
Under a stream of votes that is a 40-60 ms stall a few times a minute on the
benchmark machine, while the event loop runs out of requests to work on. A
serving instance therefore turns automatic checkpoints off on its writing
connection and checkpoints from this connection, on a worker thread, once a
second. PASSIVE never blocks the writer or a reader; once everything in the log
is copied, the next write starts the log from the beginning again, so it stays
about as large as a second of writes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
DEFAULT_AUTOCHECKPOINT_PAGES = 1000  # SQLite's own default, put back when we stop


class Checkpointer:
    def __init__(self, path: Path | str) -> None:
        self._connection = sqlite3.connect(str(path), isolation_level=None,
                                           check_same_thread=False)
        self._connection.execute("PRAGMA busy_timeout=5000")

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, frames in the log, frames copied): SQLite's answer, for the log."""
        row = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    async def run_forever(self, interval: float = INTERVAL_SECONDS) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await asyncio.to_thread(self.checkpoint)
                except sqlite3.Error:  # the writer checkpoints on close; try again later
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._connection.close()
