"""The hot writes of `SqliteStore`, applied a whole group-commit batch at a time.

A batch is applied in one hand-off to the database thread, BEGIN to COMMIT
(`SqliteStore._apply_writes`): a hand-off waits for a turn of the event loop
to come back, which on a busy loop takes milliseconds, and callers waiting for
a batch's commit cannot be answered meanwhile. So these functions are plain
`sqlite3` code, and each kind of write is one statement for the whole batch (a
multi-row INSERT, or one executemany) rather than one per row. Rows are written in
queue order, so the unique indexes decide exactly as they did one call at a
time: of two single-choice votes by one voter the first wins, and an activity
id sent twice is new only the first time.

An arriving vote is counted in the transaction that stores its activity
(`Arrival`), which spares the inbox worker a second pass (read the row back,
parse it, write again) for the commonest activity there is; the poll is read
here, not on the way in, so its state cannot change between the check and the
count. That is only allowed while it keeps the worker's promise that
activities sharing an actor or an object are applied in arrival order
(security.md A36): when no activity stored before it is still waiting for the
worker, everything before it has been applied, so applying it now is applying
it in turn. A vote that does not plainly count (its poll closed, deleted or
without that option, its Note deleted first) is stored to wait like any other
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


def apply(db: sqlite3.Connection, batch: list[Write]) -> list[Any]:
    """Apply a batch inside the caller's transaction; one result per item, in order."""
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
    """Store each new activity, counting the votes that count now (see the module
    docstring); True for each new one that waits for the worker."""
    plans = _counted_now(db, arrivals)
    seen = _stored(db, [a.activity.id for a in arrivals])
    fresh, votes, waits = [], [], []
    for arrival, plan in zip(arrivals, plans, strict=True):
        is_new = arrival.activity.id not in seen  # not sent before, nor twice in this batch
        seen.add(arrival.activity.id)
        waits.append(is_new and plan is None)
        if is_new:
            fresh.append((arrival.activity, plan))
        if is_new and plan is not None:
            v, (choice, multiple) = arrival.vote, plan
            votes.append(VoteCast(v.poll_id, v.voter, (choice,), not multiple, v.object_id,
                                  arrival.activity.received_at))
    if fresh:
        db.execute(
            "INSERT INTO inbox_activity (id, actor, type, body, received_at, processed_at)"
            " VALUES " + _values(6, len(fresh)),
            [v for a, plan in fresh for v in (a.id, a.actor, a.type, a.body, a.received_at,
                                               None if plan is None else a.received_at)])
    _insert_votes(db, votes)
    return waits


def _stored(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of `ids` are stored already. Reads here return one row: on the database
    thread every row fetched means handing the GIL to and fro with the busy event
    loop (and waiting for it), so rows are folded into one JSON array."""
    marks = ", ".join("?" * len(ids))
    found = db.execute(
        f"SELECT json_group_array(id) FROM inbox_activity WHERE id IN ({marks})", ids,
    ).fetchone()[0]
    return set(json.loads(found))


def _counted_now(db: sqlite3.Connection, arrivals: Sequence[Any],
                 ) -> list[tuple[int, int] | None]:
    """Per arrival, the (option index, poll.multiple) its vote is counted with in this
    transaction, or None when it waits: each arrival up to the first that must wait,
    provided nothing stored earlier waits. A vote counts when its poll exists, is
    not deleted and was open when it arrived (the rule of `polls.refusal`), names
    an option exactly (`polls.choices_for`), and its Note was not deleted first."""
    votes = [(n, a.vote) for n, a in enumerate(arrivals) if a.vote is not None]
    if not votes:
        return [None] * len(arrivals)
    found = db.execute(
        "WITH arrived (n, poll_id, name, object_id, at) AS (VALUES "
        + _values(5, len(votes)) + ")"
        " SELECT (SELECT json_group_array(json_array(a.n, o.idx, p.multiple)) FROM arrived a"
        " JOIN poll p ON p.id = a.poll_id AND p.deleted_at IS NULL"
        " AND a.at < coalesce(p.closed_at, p.end_time)"
        " JOIN poll_option o ON o.poll_id = p.id AND o.name = a.name"
        " WHERE NOT EXISTS (SELECT 1 FROM object_tombstone t WHERE t.id = a.object_id)),"
        " EXISTS (SELECT 1 FROM inbox_activity WHERE processed_at IS NULL)",
        [value for n, v in votes for value in (
            n, v.poll_id, v.option, v.object_id, arrivals[n].activity.received_at)]).fetchone()
    counted = {n: (idx, multiple) for n, idx, multiple in json.loads(found[0])}
    plans: list[tuple[int, int] | None] = []
    waiting = bool(found[1])
    for n in range(len(arrivals)):
        waiting = waiting or n not in counted
        plans.append(None if waiting else counted[n])
    return plans


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
    """Count what the unique indexes let through (the counters follow the rows, by
    migration 009's triggers); returns each vote's newly counted choices."""
    new = {tuple(row) for row in _insert_votes(db, votes, " RETURNING poll_id, voter, choice")}
    return [_claim(new, v) for v in votes]


def _insert_votes(db: sqlite3.Connection, votes: Sequence[VoteCast], returning: str = "",
                  ) -> list[Any]:
    """One statement for all the votes' rows. Without `returning` it is done in one
    step; each row it returns costs a hand-back of the GIL (see `_stored`)."""
    rows = [(v.poll_id, v.voter, c, int(v.single), v.object_id, v.now)
            for v in votes for c in v.choices]
    if not rows:
        return []
    return db.execute(
        "INSERT OR IGNORE INTO vote (poll_id, voter, choice, single, object_id, created_at)"
        " VALUES " + _values(6, len(rows)) + returning,
        [value for row in rows for value in row]).fetchall()


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
