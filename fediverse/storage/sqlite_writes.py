"""The hot writes of `SqliteStore`, applied a whole group-commit batch at a time.

A batch is applied in one hand-off to the database thread, in one transaction
(`SqliteStore._apply_writes`): a hand-off waits for a turn of the event loop
to come back, which on a busy loop takes milliseconds, and callers waiting for
a batch's commit cannot be answered meanwhile. So these functions are plain
`sqlite3` code, and each kind of write is one statement for the whole batch (a
multi-row INSERT, or one executemany) rather than one per row. Rows are written in
queue order, so the unique indexes decide exactly as they did one call at a
time: of two single-choice votes by one voter the first wins, and an activity
id sent twice is new only the first time.

Each statement costs the database thread the GIL: `sqlite3` lets it go while
SQLite works, and the busy event loop takes it and keeps it for up to the
switch interval (5 ms) before the thread can go on. So the commonest batch,
arrivals alone, is one INSERT into the `arrival` view (migration 011) in
SQLite's autocommit mode: the statement is its own transaction, and its one
step (rows, triggers, COMMIT and the disk) the one wait for the GIL; the two
indexed reads around it (which rows are new, which of those wait) are made on
the event loop's reader connection (`SqliteStore._apply_writes`).

An arriving vote is counted in the statement that stores its activity
(`Arrival`), which spares the inbox worker a second pass (read the row back,
parse it, write again) for the commonest activity there is; the poll is read
there, not on the way in, so its state cannot change between the check and the
count. That is only allowed while it keeps the worker's promise that
activities sharing an actor or an object are applied in arrival order
(security.md A36): when no activity stored before it is still waiting for the
worker, everything before it has been applied, so applying it now is applying
it in turn. A vote that does not plainly count (its poll closed, deleted or
without that option, its Note deleted first, or sent to the personal inbox of a
local actor who does not own the poll) is stored to wait like any other
activity: the worker applies its rules, and a Note naming no option may be a
reply.

Batches are at most `MAX_BATCH` items; a vote has at most `polls.MAX_OPTIONS`
choices, which keeps every statement under SQLite's 32,766 variables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import Ballot, InboxActivity

MAX_BATCH = 200


@dataclass(frozen=True)
class Arrival:
    """`save_inbox_activity`; its result says whether the activity waits for the worker."""

    activity: InboxActivity
    vote: Ballot | None


@dataclass(frozen=True)
class HostSpoke:
    """`record_host_success`: the host's failure record goes."""

    host: str


@dataclass(frozen=True)
class Processed:
    """`mark_inbox_processed`."""

    activity_id: str
    now: float
    error: str | None


@dataclass(frozen=True)
class VoteCast:
    """`record_vote`; its result is the tuple of newly counted choices."""

    poll_id: int
    voter: str
    choices: tuple[int, ...]
    single: bool
    object_id: str | None
    now: float


@dataclass(frozen=True)
class Delivered:
    """`finish_delivery`."""

    delivery_id: int
    now: float
    status: int | None


Write = Arrival | HostSpoke | Processed | VoteCast | Delivered


def needs_transaction(batch: list[Write]) -> bool:
    """Whether the batch takes more than one statement that writes (see above)."""
    return not all(isinstance(item, Arrival) for item in batch)


def apply(db: sqlite3.Connection, batch: list[Write]) -> list[Any]:
    """Apply a batch inside the caller's transaction (when `needs_transaction`); one
    result per item, in order."""
    results: list[Any] = [None] * len(batch)
    for kind, write in WRITERS:
        picked = [i for i, item in enumerate(batch) if isinstance(item, kind)]
        if picked:
            for i, result in zip(picked, write(db, [batch[i] for i in picked]),
                                 strict=True):
                results[i] = result
    return results


def _values(row_width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * row_width) + ")"
    return ", ".join([row] * rows)


def _save_arrivals(db: sqlite3.Connection, arrivals: Sequence[Any]) -> list[bool]:
    """Store each new activity, counting the votes that count now (migration 011's
    trigger on `arrival` applies the rules, row by row in queue order); True for each
    new one that waits for the worker."""
    before = last_arrival(db)
    insert_arrivals(db, arrivals)
    return waiting_since(db, arrivals, before)


def last_arrival(db: sqlite3.Connection) -> int:
    """The rowid of the newest stored activity: rows past it are new."""
    found: int = db.execute("SELECT coalesce(max(rowid), 0) FROM inbox_activity").fetchone()[0]
    return found


def insert_arrivals(db: sqlite3.Connection, arrivals: Sequence[Any]) -> None:
    db.execute(
        "INSERT INTO arrival (id, actor, type, body, received_at, inbox_owner, poll_id, voter,"
        " option_name, object_id) VALUES " + _values(10, len(arrivals)),
        [value for arrival in arrivals for value in _arrival_row(arrival)])


def waiting_since(db: sqlite3.Connection, arrivals: Sequence[Any], before: int) -> list[bool]:
    """Per arrival, whether it was stored after row `before` and waits for the worker."""
    waiting = set(json.loads(db.execute(
        "SELECT json_group_array(id) FROM inbox_activity"
        " WHERE rowid > ? AND processed_at IS NULL", (before,)).fetchone()[0]))
    waits = []
    for arrival in arrivals:  # of two arrivals with one id, only the first was new
        waits.append(arrival.activity.id in waiting)
        waiting.discard(arrival.activity.id)
    return waits


def _arrival_row(arrival: Arrival) -> tuple[Any, ...]:
    a, vote = arrival.activity, arrival.vote
    ballot = (None, None, None, None) if vote is None else (
        vote.poll_id, vote.voter, vote.option, vote.object_id)
    return (a.id, a.actor, a.type, a.body, a.received_at, a.inbox_owner, *ballot)


def _host_spoke(db: sqlite3.Connection, items: Sequence[Any]) -> list[None]:
    hosts = sorted({item.host for item in items})
    db.execute(
        f"DELETE FROM host_health WHERE host IN ({', '.join('?' * len(hosts))})", hosts)
    return [None] * len(items)


def _processed(db: sqlite3.Connection, items: Sequence[Any]) -> list[None]:
    db.executemany(
        "UPDATE inbox_activity SET processed_at = ?, error = ? WHERE id = ?",
        [(item.now, item.error, item.activity_id) for item in items])
    return [None] * len(items)


def _delivered(db: sqlite3.Connection, items: Sequence[Any]) -> list[None]:
    db.executemany(
        "UPDATE delivery SET state = 'done', attempts = attempts + 1, finished_at = ?,"
        " last_status = ?, leased_until = NULL WHERE id = ?",
        [(item.now, item.status, item.delivery_id) for item in items])
    return [None] * len(items)


def _cast_votes(db: sqlite3.Connection, votes: Sequence[Any]) -> list[tuple[int, ...]]:
    """Count what the unique indexes let through, in one statement (the counters
    follow the rows, by migration 009's triggers); returns each vote's newly counted
    choices. The votes the inbox worker applies and the page's votes come this way, a
    few at a time: the rows RETURNING hands back, each a step of its own, cost little
    here."""
    rows = [(v.poll_id, v.voter, c, int(v.single), v.object_id, v.now)
            for v in votes for c in v.choices]
    if not rows:
        return [() for _ in votes]
    new = {tuple(row) for row in db.execute(
        "INSERT OR IGNORE INTO vote (poll_id, voter, choice, single, object_id, created_at)"
        " VALUES " + _values(6, len(rows)) + " RETURNING poll_id, voter, choice",
        [value for row in rows for value in row]).fetchall()}
    return [_claim(new, v) for v in votes]


def _claim(new: set[tuple[Any, ...]], vote: VoteCast) -> tuple[int, ...]:
    """The vote's choices that were new rows; each new row is claimed once."""
    mine = tuple(c for c in vote.choices if (vote.poll_id, vote.voter, c) in new)
    new.difference_update((vote.poll_id, vote.voter, c) for c in mine)
    return mine


Writer = Callable[[sqlite3.Connection, Sequence[Any]], list[Any]]
WRITERS: list[tuple[type, Writer]] = [
    (Arrival, _save_arrivals), (HostSpoke, _host_spoke), (Processed, _processed),
    (VoteCast, _cast_votes), (Delivered, _delivered),
]
