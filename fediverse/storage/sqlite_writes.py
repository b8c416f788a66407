"""The hot writes of `SqliteStore`, applied a whole group-commit batch at a time.

Each kind of write is one statement for the whole batch (a multi-row INSERT
whose RETURNING names the rows that were new, or one executemany), because
every statement is a round trip to aiosqlite's thread: per-row statements
would cost more than the fsync that group commit saves. Rows are written in
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

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

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


async def apply(db: aiosqlite.Connection, batch: list[Write]) -> list[Any]:
    """Apply a batch inside the caller's transaction; one result per item, in order."""
    results: list[Any] = [None] * len(batch)
    for kind, write in WRITERS:
        picked = [i for i, item in enumerate(batch) if isinstance(item, kind)]
        if picked:
            for i, result in zip(picked, await write(db, [batch[i] for i in picked]),
                                 strict=True):
                results[i] = result
    return results


def _values(row_width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * row_width) + ")"
    return ", ".join([row] * rows)


async def _save_arrivals(db: aiosqlite.Connection, arrivals: Sequence[Any]) -> list[bool]:
    """Store each new activity, counting the votes that count now (see the module
    docstring); True for each new one that waits for the worker."""
    plans = await _counted_now(db, arrivals)
    new = {row[0] for row in await db.execute_fetchall(
        "INSERT OR IGNORE INTO inbox_activity (id, actor, type, body, received_at,"
        " processed_at) VALUES " + _values(6, len(arrivals)) + " RETURNING id",
        [v for a, plan in zip(arrivals, plans, strict=True) for v in (
            a.activity.id, a.activity.actor, a.activity.type, a.activity.body,
            a.activity.received_at, None if plan is None else a.activity.received_at)])}
    waits, votes = [], []
    for arrival, plan in zip(arrivals, plans, strict=True):
        is_new = arrival.activity.id in new
        new.discard(arrival.activity.id)
        waits.append(is_new and plan is None)
        if is_new and plan is not None:
            v, (choice, multiple) = arrival.vote, plan
            votes.append(VoteCast(v.poll_id, v.voter, (choice,), not multiple, v.object_id,
                                  arrival.activity.received_at))
    if votes:
        await _cast_votes(db, votes)
    return waits


async def _counted_now(db: aiosqlite.Connection, arrivals: Sequence[Any],
                       ) -> list[tuple[int, int] | None]:
    """Per arrival, the (option index, poll.multiple) its vote is counted with in this
    transaction, or None when it waits: each arrival up to the first that must wait,
    provided nothing stored earlier waits (the row numbered -1 below). A vote counts
    when its poll exists, is not deleted and was open when it arrived (the rule of
    `polls.refusal`), names an option exactly (`polls.choices_for`), and its Note
    was not deleted first."""
    votes = [(n, a.vote) for n, a in enumerate(arrivals) if a.vote is not None]
    if not votes:
        return [None] * len(arrivals)
    rows = await db.execute_fetchall(
        "WITH arrived (n, poll_id, name, object_id, at) AS (VALUES "
        + _values(5, len(votes)) + ")"
        " SELECT a.n, o.idx, p.multiple FROM arrived a"
        " JOIN poll p ON p.id = a.poll_id AND p.deleted_at IS NULL"
        " AND a.at < coalesce(p.closed_at, p.end_time)"
        " JOIN poll_option o ON o.poll_id = p.id AND o.name = a.name"
        " WHERE NOT EXISTS (SELECT 1 FROM object_tombstone t WHERE t.id = a.object_id)"
        " UNION ALL SELECT -1, 0, 0 WHERE EXISTS"
        " (SELECT 1 FROM inbox_activity WHERE processed_at IS NULL)",
        [value for n, v in votes for value in (
            n, v.poll_id, v.option, v.object_id, arrivals[n].activity.received_at)])
    counted = {row[0]: (row[1], row[2]) for row in rows}
    plans: list[tuple[int, int] | None] = []
    waiting = -1 in counted
    for n in range(len(arrivals)):
        waiting = waiting or n not in counted
        plans.append(None if waiting else counted[n])
    return plans


async def _host_spoke(db: aiosqlite.Connection, items: Sequence[Any]) -> list[None]:
    hosts = sorted({item.host for item in items})
    await db.execute_fetchall(
        f"DELETE FROM host_health WHERE host IN ({', '.join('?' * len(hosts))})", hosts)
    return [None] * len(items)


async def _processed(db: aiosqlite.Connection, items: Sequence[Any]) -> list[None]:
    await db.executemany(
        "UPDATE inbox_activity SET processed_at = ?, error = ? WHERE id = ?",
        [(item.now, item.error, item.activity_id) for item in items])
    return [None] * len(items)


async def _delivered(db: aiosqlite.Connection, items: Sequence[Any]) -> list[None]:
    await db.executemany(
        "UPDATE delivery SET state = 'done', attempts = attempts + 1, finished_at = ?,"
        " last_status = ?, leased_until = NULL WHERE id = ?",
        [(item.now, item.status, item.delivery_id) for item in items])
    return [None] * len(items)


async def _cast_votes(db: aiosqlite.Connection, votes: Sequence[Any]) -> list[tuple[int, ...]]:
    """Count what the unique indexes let through, then move every counter by what
    was counted: options by their new votes, polls by their new voters."""
    rows = [(v.poll_id, v.voter, c, int(v.single), v.object_id, v.now)
            for v in votes for c in v.choices]
    if not rows:
        return [() for _ in votes]
    new = {tuple(row) for row in await db.execute_fetchall(
        "INSERT OR IGNORE INTO vote (poll_id, voter, choice, single, object_id, created_at)"
        " VALUES " + _values(6, len(rows)) + " RETURNING poll_id, voter, choice",
        [value for row in rows for value in row])}
    counted = [_claim(new, v) for v in votes]
    bumps = Counter((v.poll_id, c) for v, cs in zip(votes, counted, strict=True) for c in cs)
    if bumps:
        await db.executemany(
            "UPDATE poll_option SET votes = votes + ? WHERE poll_id = ? AND idx = ?",
            [(n, poll, idx) for (poll, idx), n in bumps.items()])
        await _count_voters(db, [v for v, cs in zip(votes, counted, strict=True) if cs])
    return counted


def _claim(new: set[tuple[Any, ...]], vote: VoteCast) -> tuple[int, ...]:
    """The vote's choices that were new rows; each new row is claimed once."""
    mine = tuple(c for c in vote.choices if (vote.poll_id, vote.voter, c) in new)
    new.difference_update((vote.poll_id, vote.voter, c) for c in mine)
    return mine


async def _count_voters(db: aiosqlite.Connection, votes: list[VoteCast]) -> None:
    """A poll a counted vote touched owes a tally Update; a voter new to it counts."""
    first: dict[tuple[int, str], float] = {}
    for v in votes:
        first.setdefault((v.poll_id, v.voter), v.now)
    new_voters = Counter(row[0] for row in await db.execute_fetchall(
        "INSERT OR IGNORE INTO poll_voter (poll_id, voter, created_at) VALUES "
        + _values(3, len(first)) + " RETURNING poll_id",
        [value for (poll, voter), now in first.items() for value in (poll, voter, now)]))
    dirty: dict[int, float] = {}
    for (poll, _), now in first.items():
        dirty.setdefault(poll, now)
    await db.executemany(
        "UPDATE poll SET voters_count = voters_count + ?,"
        " tally_dirty_since = coalesce(tally_dirty_since, ?) WHERE id = ?",
        [(new_voters[poll], now, poll) for poll, now in dirty.items()])


Writer = Callable[[aiosqlite.Connection, Sequence[Any]], Awaitable[list[Any]]]
WRITERS: list[tuple[type, Writer]] = [
    (Arrival, _save_arrivals), (HostSpoke, _host_spoke), (Processed, _processed),
    (VoteCast, _cast_votes), (Delivered, _delivered),
]
