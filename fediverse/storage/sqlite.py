"""SQLite backend of the `Store` contract, through aiosqlite.

One writing connection in WAL mode with `synchronous=FULL`: a row we answered
2xx for is on disk. aiosqlite runs every statement on one thread, so statements of
different coroutines could interleave inside a transaction; `_lock` makes each
method one atomic unit. The hot writes (inbox activities, votes, finished
deliveries; `sqlite_writes`) go through group commit: many callers, one
transaction and one fsync, each caller answered once its batch is on disk; a
batch goes to aiosqlite's thread in one hand-off. While serving, WAL checkpoints
run on a connection of their own (`checkpoints`), never inside a commit.

Lookups by key on the hot paths (the inbox's checks, a reply's poll) run on a
second, reader connection, right on the event loop: handing a statement to
aiosqlite's thread and back costs far more CPU than an indexed lookup, and
waits behind whatever the writer is doing (an fsync). WAL readers never wait
for the writer and see committed rows only. Scans and lists stay on the writer
thread, where they cannot hold up the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from activitypub.vocab import domain_of, host_of

from ..polls import Opinion, Poll, PollDraft, Tally
from . import (
    AdminAccount,
    ApiToken,
    Ballot,
    Delivery,
    DuplicateError,
    Follow,
    FollowState,
    HostStatus,
    HubReply,
    InboxActivity,
    LocalActor,
    MirroredPoll,
    Moderation,
    PurgeResult,
    RemoteActor,
    Reply,
    ReplyState,
    Report,
    checkpoints,
    sqlite_writes,
)
from .group_commit import GroupCommit

# aiosqlite logs every statement with its parameters at DEBUG: private keys and
# commenters' e-mail addresses (security.md A40) must not reach a log that way.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

KEPT_SECONDS = 5.0


class _KeptSet:
    """A small table's keys kept in memory, for a check every request makes (blocked
    domains; hosts with a failure record): a lookup on the reader costs more there
    than the rest of the check, since the busy writer's commits keep emptying the
    reader's page cache. This process's own changes apply at once; the table is
    read again every KEPT_SECONDS for what another process writes (a CLI command),
    so that takes effect within seconds."""

    def __init__(self, read: Callable[[], Iterable[sqlite3.Row]]) -> None:
        self._read = read
        self._keys: set[str] = set()
        self._read_at = -KEPT_SECONDS

    def current(self) -> set[str]:
        now = time.monotonic()
        if now - self._read_at >= KEPT_SECONDS:
            self._keys = {row[0] for row in self._read()}
            self._read_at = now
        return self._keys


class _GrowingSet:
    """The keys of a table whose rows are never deleted (actor tombstones), kept in
    memory like `_KeptSet` for the same reason. Such a table only grows, so it is
    read again incrementally, past the highest rowid seen: a long tombstone list
    makes the reading no dearer. (SQLite gives a new row the highest rowid plus
    one, and writers take turns, so rows commit in rowid order.)"""

    def __init__(self, read_after: Callable[[int], Iterable[sqlite3.Row]]) -> None:
        self._read_after = read_after
        self._keys: set[str] = set()
        self._last_rowid = 0
        self._read_at = -KEPT_SECONDS

    def current(self) -> set[str]:
        now = time.monotonic()
        if now - self._read_at >= KEPT_SECONDS:
            for rowid, key in self._read_after(self._last_rowid):
                self._keys.add(key)
                self._last_rowid = max(self._last_rowid, rowid)
            self._read_at = now
        return self._keys


def _migrations() -> list[tuple[int, str]]:
    """Numbered SQL files shipped in `migrations/`, in order."""
    folder = resources.files(__package__).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


class SqliteStore:
    def __init__(self, path: Path | str, db: aiosqlite.Connection,
                 reader: sqlite3.Connection) -> None:
        self._path = path
        self._db = db
        self._reader = reader
        self._lock = asyncio.Lock()
        self._failing = _KeptSet(lambda: self._lookup_all("SELECT host FROM host_health"))
        self._blocked = _KeptSet(lambda: self._lookup_all("SELECT domain FROM blocked_domain"))
        self._blocked_actors = _KeptSet(lambda: self._lookup_all("SELECT id FROM blocked_actor"))
        self._tombstones = _GrowingSet(lambda after: self._lookup_all(
            "SELECT rowid, id FROM actor_tombstone WHERE rowid > ? ORDER BY rowid", (after,)))
        self._writes: GroupCommit[sqlite_writes.Write, Any] = GroupCommit(
            self._apply_writes, max_batch=sqlite_writes.MAX_BATCH)

    @classmethod
    async def open(cls, path: Path | str) -> SqliteStore:
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = sqlite3.Row
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=5000",
        ):
            await db.execute(f"PRAGMA {pragma}")
        store = cls(path, db, _reader(path))
        await store._migrate()
        return store

    async def checkpoint_forever(self, interval: float = checkpoints.INTERVAL_SECONDS) -> None:
        """While serving: WAL checkpoints off the commit path (see `checkpoints`)."""
        await self._db.execute("PRAGMA wal_autocheckpoint=0")
        try:
            await checkpoints.Checkpointer(self._path).run_forever(interval)
        finally:
            with suppress(ValueError):  # the store was closed first: nothing to put back
                await self._db.execute(
                    f"PRAGMA wal_autocheckpoint={checkpoints.DEFAULT_AUTOCHECKPOINT_PAGES}")

    async def close(self) -> None:
        await self._writes.drain()
        self._reader.close()
        await self._db.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = row[0] if row else 0
        for number, script in _migrations():
            if number > current:
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN is inside the `try`: a caller cancelled while BEGIN is still on its way
        (a delivery loop stopping mid-lease) must not leave the connection inside a
        transaction. Statements run in order on aiosqlite's thread, so the ROLLBACK
        comes after that BEGIN, whenever it ran; with nothing begun, it fails harmlessly."""
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
            except BaseException:
                with suppress(sqlite3.OperationalError):  # no transaction is active
                    await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """One round trip to aiosqlite's thread; a cursor would take three, and each
        hand-off between threads costs more than most of our queries."""
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, tuple(params)))

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Execute one statement on its own; returns the number of rows changed."""
        async with self._lock, self._db.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self._one(sql, params)
        return row[0] if row else None

    def _lookup_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """A few rows found by key, read on the loop (see the module docstring). All
        rows are fetched, so the read transaction ends with the call."""
        return self._reader.execute(sql, tuple(params)).fetchall()

    def _lookup(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = self._lookup_all(sql, params)
        return rows[0] if rows else None

    async def _apply_writes(self, batch: list[sqlite_writes.Write]) -> list[Any]:
        """One group-commit batch in one hand-off to the database thread (see
        `sqlite_writes`). aiosqlite has no public call to run a function there;
        `_execute` is the primitive all of its methods are made of. Arrivals alone
        are one INSERT there; the reads around it are made here, on the reader,
        under the lock, so no other write of ours comes between."""
        async with self._lock:
            if sqlite_writes.needs_transaction(batch):
                results: list[Any] = await self._db._execute(  # type: ignore[no-untyped-call]
                    _apply_in_transaction, self._db, batch)
                return results
            before = sqlite_writes.last_arrival(self._reader)
            await self._db._execute(  # type: ignore[no-untyped-call]
                sqlite_writes.insert_arrivals, self._db._conn, batch)
            return sqlite_writes.waiting_since(self._reader, batch, before)

    # local actors

    async def create_local_actor(self, actor: LocalActor, now: float) -> None:
        try:
            await self._run(
                "INSERT INTO local_actor (username, actor_type, name, summary, private_key_pem,"
                " public_key_pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    actor.username,
                    actor.actor_type,
                    actor.name,
                    actor.summary,
                    actor.private_key_pem,
                    actor.public_key_pem,
                    now,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"local actor {actor.username!r} exists") from exc

    async def local_actor(self, username: str) -> LocalActor | None:
        row = self._lookup("SELECT * FROM local_actor WHERE username = ?", (username,))
        return _local_actor(row) if row else None

    async def local_actors(self) -> list[LocalActor]:
        rows = await self._all("SELECT * FROM local_actor ORDER BY created_at, username")
        return [_local_actor(row) for row in rows]

    # remote actors, blocks and tombstones

    async def save_remote_actor(self, actor: RemoteActor) -> None:
        await self._run(
            "INSERT INTO remote_actor (id, key_id, public_key_pem, inbox, shared_inbox, username,"
            " name, url, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id,"
            " public_key_pem = excluded.public_key_pem, inbox = excluded.inbox,"
            " shared_inbox = excluded.shared_inbox, username = excluded.username,"
            " name = excluded.name, url = excluded.url, fetched_at = excluded.fetched_at",
            (
                actor.id,
                actor.key_id,
                actor.public_key_pem,
                actor.inbox,
                actor.shared_inbox,
                actor.username,
                actor.name,
                actor.url,
                actor.fetched_at,
            ),
        )

    async def remote_actor(self, actor_id: str) -> RemoteActor | None:
        row = self._lookup("SELECT * FROM remote_actor WHERE id = ?", (actor_id,))
        return RemoteActor(**dict(row)) if row else None

    async def remote_actor_by_key(self, key_id: str) -> RemoteActor | None:
        row = self._lookup("SELECT * FROM remote_actor WHERE key_id = ?", (key_id,))
        return RemoteActor(**dict(row)) if row else None

    async def forget_actor(self, actor_id: str, now: float) -> None:
        """A deleted account: its follows, votes and replies go; tallies are recounted."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT DISTINCT poll_id FROM vote WHERE voter = ?",
                                      (actor_id,))
            polls = [row[0] for row in await cursor.fetchall()]
            await db.execute("DELETE FROM vote WHERE voter = ?", (actor_id,))
            await db.execute("DELETE FROM poll_voter WHERE voter = ?", (actor_id,))
            await db.execute("DELETE FROM reply WHERE actor = ?", (actor_id,))
            for poll_id in polls:
                await _recount(db, poll_id, now)
            await db.execute("DELETE FROM follower WHERE actor_id = ?", (actor_id,))
            await db.execute("DELETE FROM following WHERE actor_id = ?", (actor_id,))
            await db.execute("DELETE FROM remote_actor WHERE id = ?", (actor_id,))
            await db.execute(
                "INSERT OR IGNORE INTO actor_tombstone (id, deleted_at) VALUES (?, ?)",
                (actor_id, now),
            )
        self._tombstones.current().add(actor_id)

    async def is_tombstoned(self, actor_id: str) -> bool:
        """Asked by every inbox POST, like `is_blocked`: kept in memory."""
        return actor_id in self._tombstones.current()

    async def block_domain(self, domain: str, now: float) -> None:
        await self._run(
            "INSERT OR IGNORE INTO blocked_domain (domain, created_at) VALUES (?, ?)",
            (domain.lower(), now),
        )
        self._blocked.current().add(domain.lower())

    async def is_blocked(self, domain: str) -> bool:
        """Asked by every inbox POST: the blocks are kept in memory (see `_KeptSet`)."""
        return domain.lower() in self._blocked.current()

    # inbox

    async def save_inbox_activity(self, activity: InboxActivity,
                                  vote: Ballot | None = None) -> bool:
        """True when the activity is new and waits for the inbox worker; returns once
        the row is on disk (group commit). A `vote` is counted in that same
        transaction and its activity stored as processed, so the worker never reads
        it back: if its poll is open and has the option, its Note was not deleted,
        it came in at the shared inbox or its poll's owner's, and no activity stored
        before it still waits. Otherwise it waits too, and the worker applies
        everything in arrival order, with every rule."""
        waits: bool = await self._writes.submit(sqlite_writes.Arrival(activity, vote))
        return waits

    async def pending_inbox_activities(self, limit: int) -> list[InboxActivity]:
        rows = await self._all(
            "SELECT id, actor, type, body, received_at, inbox_owner FROM inbox_activity"
            " WHERE processed_at IS NULL ORDER BY received_at, rowid LIMIT ?",
            (limit,),
        )
        return [InboxActivity(**dict(row)) for row in rows]

    async def mark_inbox_processed(self, activity_id: str, now: float, error: str | None) -> None:
        await self._writes.submit(sqlite_writes.Processed(activity_id, now, error))

    async def inbox_activity_count(self) -> int:
        return int(await self._scalar("SELECT count(*) FROM inbox_activity"))

    # follows, both ways

    async def save_follower(self, follow: Follow) -> None:
        await self._run(
            "INSERT INTO follower (local_username, actor_id, follow_id, state, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (local_username, actor_id) DO UPDATE SET"
            " follow_id = excluded.follow_id, state = excluded.state",
            (
                follow.local_username,
                follow.actor_id,
                follow.follow_id,
                follow.state,
                follow.created_at,
            ),
        )

    async def follower(self, local_username: str, actor_id: str) -> Follow | None:
        row = await self._one(
            "SELECT * FROM follower WHERE local_username = ? AND actor_id = ?",
            (local_username, actor_id),
        )
        return Follow(**dict(row)) if row else None

    async def followers(self, local_username: str, state: FollowState) -> list[Follow]:
        rows = await self._all(
            "SELECT * FROM follower WHERE local_username = ? AND state = ? ORDER BY created_at",
            (local_username, state),
        )
        return [Follow(**dict(row)) for row in rows]

    async def follower_count(self, local_username: str) -> int:
        return int(
            await self._scalar(
                "SELECT count(*) FROM follower WHERE local_username = ? AND state = 'accepted'",
                (local_username,),
            )
        )

    async def remove_follower(self, local_username: str, actor_id: str) -> bool:
        changed = await self._run(
            "DELETE FROM follower WHERE local_username = ? AND actor_id = ?",
            (local_username, actor_id),
        )
        return changed > 0

    async def remove_followers_at_inbox(self, inbox: str) -> int:
        return await self._run(
            "DELETE FROM follower WHERE actor_id IN"
            " (SELECT id FROM remote_actor WHERE inbox = ? OR shared_inbox = ?)",
            (inbox, inbox),
        )

    async def follower_inboxes(self, local_username: str) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT coalesce(r.shared_inbox, r.inbox) FROM follower f"
            " JOIN remote_actor r ON r.id = f.actor_id"
            " WHERE f.local_username = ? AND f.state = 'accepted'",
            (local_username,),
        )
        return [row[0] for row in rows]

    async def save_following(self, follow: Follow, now: float) -> None:
        await self._run(
            "INSERT INTO following (local_username, actor_id, follow_id, state, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (local_username, actor_id)"
            " DO UPDATE SET follow_id = excluded.follow_id, state = excluded.state,"
            " updated_at = excluded.updated_at",
            (
                follow.local_username,
                follow.actor_id,
                follow.follow_id,
                follow.state,
                follow.created_at,
                now,
            ),
        )

    async def following_by_follow_id(self, follow_id: str) -> Follow | None:
        row = await self._one(
            "SELECT local_username, actor_id, follow_id, state, created_at FROM following"
            " WHERE follow_id = ?",
            (follow_id,),
        )
        return Follow(**dict(row)) if row else None

    async def following(self, local_username: str) -> list[Follow]:
        rows = await self._all(
            "SELECT local_username, actor_id, follow_id, state, created_at FROM following"
            " WHERE local_username = ? ORDER BY created_at",
            (local_username,),
        )
        return [Follow(**dict(row)) for row in rows]

    async def remove_following(self, local_username: str, actor_id: str) -> bool:
        changed = await self._run(
            "DELETE FROM following WHERE local_username = ? AND actor_id = ?",
            (local_username, actor_id),
        )
        return changed > 0

    async def set_following_state(self, follow_id: str, state: FollowState, now: float) -> None:
        await self._run(
            "UPDATE following SET state = ?, updated_at = ? WHERE follow_id = ?",
            (state, now, follow_id),
        )

    # outbox and delivery queue

    async def add_outbox_activity(
        self,
        local_username: str,
        activity_id: str,
        activity_type: str,
        body: str,
        public: bool,
        inboxes: list[str],
        now: float,
    ) -> int:
        """Store the activity and one delivery row per distinct inbox, atomically.

        Either the activity and all its deliveries are on disk or none are, so a
        crash mid fan-out can only leave rows to send, never rows forgotten.
        """
        async with self._transaction() as db:
            try:
                cursor = await db.execute(
                    "INSERT INTO outbox_activity (id, local_username, type, body, public,"
                    " published_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (activity_id, local_username, activity_type, body, int(public), now),
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateError(f"activity {activity_id} exists") from exc
            seq = cursor.lastrowid
            await db.executemany(
                "INSERT OR IGNORE INTO delivery (activity_seq, inbox, host, state,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                [(seq, inbox, host_of(inbox), now, now) for inbox in dict.fromkeys(inboxes)],
            )
        assert seq is not None
        return seq

    async def outbox_activity(self, activity_id: str) -> str | None:
        row = await self._one("SELECT body FROM outbox_activity WHERE id = ?", (activity_id,))
        return row[0] if row else None

    async def public_outbox(self, local_username: str, limit: int) -> list[str]:
        rows = await self._all(
            "SELECT body FROM outbox_activity WHERE local_username = ? AND public = 1"
            " ORDER BY seq DESC LIMIT ?",
            (local_username, limit),
        )
        return [row[0] for row in rows]

    async def public_outbox_count(self, local_username: str) -> int:
        return int(
            await self._scalar(
                "SELECT count(*) FROM outbox_activity WHERE local_username = ? AND public = 1",
                (local_username,),
            )
        )

    async def lease_due_deliveries(
        self, now: float, limit: int, lease_seconds: float, skip_hosts: set[str], per_host: int,
    ) -> list[Delivery]:
        """Claim up to `limit` due rows, at most `per_host` of any one host.

        A claimed row is invisible to other claims until its lease runs out, so a
        worker that dies mid-send leaves the row to be sent again later. Only the
        first `limit * per_host` due rows are looked at (in index order, so a
        queue of 10,000 rows costs no sort): a host with more rows than that can
        hide the hosts behind it for one claim, until its slots are full and the
        worker skips it.
        """
        skip = sorted(skip_hosts)
        marks = ",".join("?" * len(skip))
        async with self._transaction() as db:
            ids = [row[0] for row in await db.execute_fetchall(
                "UPDATE delivery SET leased_until = ? WHERE id IN (SELECT id FROM"
                " (SELECT id, next_attempt_at, row_number() OVER"
                " (PARTITION BY host ORDER BY next_attempt_at, id) AS n FROM"
                " (SELECT id, host, next_attempt_at FROM delivery"
                " WHERE state = 'pending' AND next_attempt_at <= ?"
                " AND (leased_until IS NULL OR leased_until <= ?)"
                f" AND host NOT IN ({marks}) ORDER BY next_attempt_at, id LIMIT ?))"
                " WHERE n <= ? ORDER BY next_attempt_at, id LIMIT ?) RETURNING id",
                (now + lease_seconds, now, now, *skip, limit * per_host, per_host, limit),
            )]
            if not ids:
                return []
            rows = await db.execute_fetchall(
                "SELECT d.id, a.id AS activity_id, a.local_username, a.body, d.inbox, d.host,"
                " d.attempts, d.created_at FROM delivery d"
                " JOIN outbox_activity a ON a.seq = d.activity_seq"
                f" WHERE d.id IN ({','.join('?' * len(ids))}) ORDER BY d.next_attempt_at, d.id",
                ids,
            )
            return [Delivery(**dict(row)) for row in rows]

    async def release_all_leases(self) -> int:
        """At start-up no send is in flight: leases left by a dead process are void."""
        return await self._run(
            "UPDATE delivery SET leased_until = NULL WHERE state = 'pending'"
            " AND leased_until IS NOT NULL"
        )

    async def finish_delivery(self, delivery_id: int, now: float, status: int | None) -> None:
        await self._writes.submit(sqlite_writes.Delivered(delivery_id, now, status))

    async def retry_delivery(
        self,
        delivery_id: int,
        next_attempt_at: float,
        status: int | None,
        error: str,
    ) -> None:
        await self._run(
            "UPDATE delivery SET attempts = attempts + 1, next_attempt_at = ?, last_status = ?,"
            " last_error = ?, leased_until = NULL WHERE id = ?",
            (next_attempt_at, status, error, delivery_id),
        )

    async def fail_delivery(
        self,
        delivery_id: int,
        now: float,
        status: int | None,
        error: str,
    ) -> None:
        await self._run(
            "UPDATE delivery SET state = 'failed', attempts = attempts + 1, finished_at = ?,"
            " last_status = ?, last_error = ?, leased_until = NULL WHERE id = ?",
            (now, status, error, delivery_id),
        )

    async def delivery_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT state, count(*) FROM delivery GROUP BY state")
        counts = {"pending": 0, "done": 0, "failed": 0}
        counts.update({row[0]: row[1] for row in rows})
        return counts

    # host health

    async def record_host_failure(self, host: str, now: float) -> float:
        """Note a failed delivery; returns since when the host has failed without a success."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO host_health (host, failing_since) VALUES (?, ?)",
                (host, now),
            )
            cursor = await db.execute(
                "SELECT failing_since FROM host_health WHERE host = ?", (host,)
            )
            row = await cursor.fetchone()
        assert row is not None
        self._failing.current().add(host)
        return float(row[0])

    async def record_host_success(self, host: str) -> None:
        """Every accepted inbox POST and every delivered activity says this, and almost
        always of a host with no failures: the hosts with a failure record, kept in
        memory (`_KeptSet`), tell that without a write or a lookup (a failure recorded
        just after is as if it came just after the delete). Otherwise the delete rides
        along in the next group commit."""
        failing = self._failing.current()
        if host in failing:
            failing.discard(host)
            await self._writes.submit(sqlite_writes.HostSpoke(host))

    async def mark_host_unavailable(self, host: str, now: float) -> None:
        await self._run("UPDATE host_health SET unavailable_since = ? WHERE host = ?",
                        (now, host))

    async def unavailable_hosts(self, since: float) -> set[str]:
        """Hosts marked unavailable after `since` (older marks have expired)."""
        rows = await self._all("SELECT host FROM host_health WHERE unavailable_since > ?",
                               (since,))
        return {row[0] for row in rows}

    async def host_statuses(self) -> list[HostStatus]:
        rows = await self._all(
            "SELECT d.host, sum(d.state = 'pending') AS pending, sum(d.state = 'failed') AS failed,"
            " h.failing_since, h.unavailable_since IS NOT NULL AS unavailable FROM delivery d"
            " LEFT JOIN host_health h ON h.host = d.host GROUP BY d.host ORDER BY d.host"
        )
        return [
            HostStatus(
                row["host"],
                row["pending"],
                row["failed"],
                row["failing_since"],
                bool(row["unavailable"]),
            )
            for row in rows
        ]


    # polls

    async def create_poll(self, username: str, draft: PollDraft, now: float) -> Poll:
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO poll (local_username, question, introduction, article, opinions,"
                " multiple, hide_results, end_time, published_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (username, draft.question, draft.introduction, draft.article,
                 _opinions_json(draft), int(draft.multiple), int(draft.hide_results),
                 draft.end_time, now),
            )
            poll_id = cursor.lastrowid
            await db.executemany(
                "INSERT INTO poll_option (poll_id, idx, name) VALUES (?, ?, ?)",
                [(poll_id, i, name) for i, name in enumerate(draft.options)],
            )
        assert poll_id is not None
        created = await self.poll(poll_id)
        assert created is not None
        return created

    async def poll(self, poll_id: int) -> Poll | None:
        """The poll with its options, in one lookup."""
        row = self._lookup(
            "SELECT *, (SELECT json_group_array(name) FROM (SELECT name FROM poll_option"
            " WHERE poll_id = poll.id ORDER BY idx)) AS option_names"
            " FROM poll WHERE id = ? AND deleted_at IS NULL", (poll_id,))
        return _poll(row, tuple(json.loads(row["option_names"]))) if row else None

    async def polls(self, username: str) -> list[Poll]:
        rows = await self._all(
            "SELECT id FROM poll WHERE local_username = ? AND deleted_at IS NULL"
            " ORDER BY published_at DESC, id DESC", (username,))
        found = [await self.poll(row[0]) for row in rows]
        return [poll for poll in found if poll is not None]

    async def edit_poll(self, poll_id: int, draft: PollDraft, edited_at: float) -> None:
        """Replace the poll's texts; options only while nobody has voted (checked by the
        caller against `polls.check_edit`)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE poll SET question = ?, introduction = ?, article = ?, opinions = ?,"
                " multiple = ?, hide_results = ?, end_time = ?, edited_at = ? WHERE id = ?",
                (draft.question, draft.introduction, draft.article, _opinions_json(draft),
                 int(draft.multiple), int(draft.hide_results), draft.end_time, edited_at,
                 poll_id),
            )
            cursor = await db.execute(
                "SELECT group_concat(name, char(31)) FROM"
                " (SELECT name FROM poll_option WHERE poll_id = ? ORDER BY idx)", (poll_id,))
            row = await cursor.fetchone()
            if row is None or row[0] != chr(31).join(draft.options):
                await db.execute("DELETE FROM poll_option WHERE poll_id = ?", (poll_id,))
                await db.executemany(
                    "INSERT INTO poll_option (poll_id, idx, name) VALUES (?, ?, ?)",
                    [(poll_id, i, name) for i, name in enumerate(draft.options)],
                )

    async def set_poll_end(self, poll_id: int, end_time: float, closed_at: float | None,
                           ) -> None:
        """Close early (closed_at set) or reopen (closed_at None, a new end_time);
        either way one final Update is owed again when it closes."""
        await self._run(
            "UPDATE poll SET end_time = ?, closed_at = ?, final_update_sent = 0 WHERE id = ?",
            (end_time, closed_at, poll_id),
        )

    async def delete_poll(self, poll_id: int, now: float) -> None:
        await self._run("UPDATE poll SET deleted_at = ? WHERE id = ?", (now, poll_id))

    async def tally(self, poll_id: int) -> Tally:
        rows = await self._all(
            "SELECT votes FROM poll_option WHERE poll_id = ? ORDER BY idx", (poll_id,))
        voters = await self._scalar("SELECT voters_count FROM poll WHERE id = ?", (poll_id,))
        return Tally(tuple(row[0] for row in rows), int(voters or 0))

    async def has_votes(self, poll_id: int) -> bool:
        return await self._one("SELECT 1 FROM vote WHERE poll_id = ? LIMIT 1",
                               (poll_id,)) is not None

    async def record_vote(self, poll_id: int, voter: str, choices: list[int], single: bool,
                          object_id: str | None, now: float) -> tuple[int, ...]:
        """Count what the unique indexes let through, bumping counters in the same
        transaction; returns the option indexes that were newly counted. Votes
        applied concurrently share one group commit (`sqlite_writes`)."""
        counted: tuple[int, ...] = await self._writes.submit(sqlite_writes.VoteCast(
            poll_id, voter, tuple(choices), single, object_id, now))
        return counted

    async def voter_inboxes(self, poll_id: int) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT coalesce(r.shared_inbox, r.inbox) FROM poll_voter v"
            " JOIN remote_actor r ON r.id = v.voter WHERE v.poll_id = ?", (poll_id,))
        return [row[0] for row in rows]

    async def take_due_tallies(self, dirty_before: float) -> list[int]:
        """Polls whose first unsent vote is older than `dirty_before`; the mark is
        cleared in the same step, so a vote after this starts the next window."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE poll SET tally_dirty_since = NULL WHERE tally_dirty_since <= ?"
                " AND deleted_at IS NULL RETURNING id", (dirty_before,))
            return sorted(row[0] for row in await cursor.fetchall())

    async def polls_to_finalise(self, now: float) -> list[int]:
        rows = await self._all(
            "SELECT id FROM poll WHERE final_update_sent = 0 AND deleted_at IS NULL"
            " AND coalesce(closed_at, end_time) <= ? ORDER BY id", (now,))
        return [row[0] for row in rows]

    async def mark_final_update_sent(self, poll_id: int) -> None:
        await self._run(
            "UPDATE poll SET final_update_sent = 1, tally_dirty_since = NULL WHERE id = ?",
            (poll_id,))

    # discussion

    async def save_reply(self, reply: Reply) -> bool:
        """Store a new reply unless its id exists or was deleted before it arrived."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT 1 FROM object_tombstone WHERE id = ?",
                                      (reply.id,))
            if await cursor.fetchone():
                return False
            cursor = await db.execute(
                "INSERT OR IGNORE INTO reply (id, poll_id, actor, author_name, author_handle,"
                " author_url, content, published_at, updated_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (reply.id, reply.poll_id, reply.actor, reply.author_name, reply.author_handle,
                 reply.author_url, reply.content, reply.published_at, reply.updated_at,
                 reply.state),
            )
            return cursor.rowcount == 1

    async def reply(self, reply_id: str) -> Reply | None:
        row = await self._one(f"SELECT {_REPLY_COLUMNS} FROM reply WHERE id = ?", (reply_id,))
        return Reply(**dict(row)) if row else None

    async def edit_reply(self, reply_id: str, content: str, updated_at: float) -> None:
        await self._run("UPDATE reply SET content = ?, updated_at = ? WHERE id = ?",
                        (content, updated_at, reply_id))

    async def delete_reply(self, reply_id: str, now: float) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM reply WHERE id = ?", (reply_id,))
            await db.execute(
                "INSERT OR IGNORE INTO object_tombstone (id, deleted_at) VALUES (?, ?)",
                (reply_id, now))

    async def replies(self, poll_id: int, state: ReplyState) -> list[Reply]:
        rows = await self._all(
            f"SELECT {_REPLY_COLUMNS} FROM reply WHERE poll_id = ? AND state = ?"
            " ORDER BY published_at, id",
            (poll_id, state))
        return [Reply(**dict(row)) for row in rows]

    async def reply_count(self, poll_id: int) -> int:
        return int(await self._scalar(
            "SELECT count(*) FROM reply WHERE poll_id = ? AND state = 'visible'", (poll_id,)))

    async def tombstone_object(self, object_id: str, now: float) -> None:
        await self._run(
            "INSERT OR IGNORE INTO object_tombstone (id, deleted_at) VALUES (?, ?)",
            (object_id, now))

    async def is_object_tombstoned(self, object_id: str) -> bool:
        return self._lookup("SELECT 1 FROM object_tombstone WHERE id = ?",
                            (object_id,)) is not None

    # comments and web votes

    async def save_comment(self, reply: Reply, email: str) -> None:
        await self._run(
            "INSERT INTO reply (id, poll_id, actor, author_name, author_handle, author_url,"
            " content, published_at, updated_at, state, email)"
            " VALUES (?, ?, NULL, ?, NULL, NULL, ?, ?, NULL, ?, ?)",
            (reply.id, reply.poll_id, reply.author_name, reply.content, reply.published_at,
             reply.state, email))

    async def comment_email(self, reply_id: str) -> str | None:
        """The commenter's address, for staff eyes only."""
        found = await self._scalar("SELECT email FROM reply WHERE id = ?", (reply_id,))
        return str(found) if found is not None else None

    async def has_visible_comment_by(self, email: str) -> bool:
        """Whether staff let a comment with this address through before (any poll)."""
        return await self._one(
            "SELECT 1 FROM reply WHERE email = ? AND state = 'visible' LIMIT 1",
            (email,)) is not None

    async def set_reply_state(self, reply_id: str, state: ReplyState) -> bool:
        return await self._run("UPDATE reply SET state = ? WHERE id = ?",
                               (state, reply_id)) > 0

    async def poll_moderation(self, poll_id: int) -> Moderation:
        found = await self._scalar("SELECT moderation FROM poll WHERE id = ?", (poll_id,))
        return "open" if found == "open" else "held" if found == "held" else "first"

    async def set_poll_moderation(self, poll_id: int, moderation: Moderation) -> None:
        await self._run("UPDATE poll SET moderation = ? WHERE id = ?", (moderation, poll_id))

    async def has_voted(self, poll_id: int, voter: str) -> bool:
        return self._lookup("SELECT 1 FROM poll_voter WHERE poll_id = ? AND voter = ?",
                            (poll_id, voter)) is not None

    # instance secrets

    async def instance_secret(self, name: str, make: Callable[[], str], now: float) -> str:
        async with self._transaction() as db:
            await db.execute("INSERT OR IGNORE INTO instance_secret (name, value, created_at)"
                             " VALUES (?, ?, ?)", (name, make(), now))
            rows = await db.execute_fetchall(
                "SELECT value FROM instance_secret WHERE name = ?", (name,))
        return str(list(rows)[0][0])

    # JSON API tokens

    async def create_api_token(self, name: str, token_hash: str, now: float) -> int:
        try:
            async with self._lock, self._db.execute(
                    "INSERT INTO api_token (name, token_hash, created_at) VALUES (?, ?, ?)",
                    (name, token_hash, now)) as cursor:
                token_id = cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"a token named {name!r} exists; revoke it first") from exc
        assert token_id is not None
        return token_id

    async def api_token_by_hash(self, token_hash: str) -> tuple[int, str] | None:
        row = await self._one(
            "SELECT id, name FROM api_token WHERE token_hash = ? AND revoked_at IS NULL",
            (token_hash,))
        return (row["id"], row["name"]) if row else None

    async def touch_api_token(self, token_id: int, now: float) -> None:
        await self._run("UPDATE api_token SET last_used_at = ? WHERE id = ?", (now, token_id))

    async def revoke_api_token(self, name: str, now: float) -> bool:
        return await self._run(
            "UPDATE api_token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (now, name)) > 0

    async def api_tokens(self) -> list[ApiToken]:
        rows = await self._all(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_token"
            " ORDER BY created_at, id")
        return [ApiToken(**dict(row)) for row in rows]

    # admin: staff accounts and sessions

    async def create_admin(self, username: str, password_hash: str, now: float) -> int:
        try:
            async with self._lock, self._db.execute(
                    "INSERT INTO admin_account (username, password_hash, created_at)"
                    " VALUES (?, ?, ?)", (username, password_hash, now)) as cursor:
                account_id = cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"an account named {username!r} exists") from exc
        assert account_id is not None
        return account_id

    async def admin_account(self, username: str) -> AdminAccount | None:
        row = await self._one("SELECT * FROM admin_account WHERE username = ?", (username,))
        return AdminAccount(**dict(row)) if row else None

    async def admin_accounts(self) -> list[AdminAccount]:
        rows = await self._all("SELECT * FROM admin_account ORDER BY username")
        return [AdminAccount(**dict(row)) for row in rows]

    async def set_admin_password(self, username: str, password_hash: str) -> bool:
        """A new password ends every session of the account (a thief's too)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE admin_account SET password_hash = ? WHERE username = ?",
                (password_hash, username))
            await db.execute("DELETE FROM admin_session WHERE account_id IN"
                             " (SELECT id FROM admin_account WHERE username = ?)", (username,))
            return cursor.rowcount > 0

    async def disable_admin(self, username: str, now: float) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE admin_account SET disabled_at = coalesce(disabled_at, ?)"
                " WHERE username = ?", (now, username))
            await db.execute("DELETE FROM admin_session WHERE account_id IN"
                             " (SELECT id FROM admin_account WHERE username = ?)", (username,))
            return cursor.rowcount > 0

    async def delete_admin(self, username: str) -> bool:
        """Its sessions go with it (ON DELETE CASCADE)."""
        return await self._run("DELETE FROM admin_account WHERE username = ?", (username,)) > 0

    async def create_admin_session(self, token_hash: str, account_id: int, now: float,
                                   expires_at: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO admin_session (token_hash, account_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)", (token_hash, account_id, now, expires_at))
            await db.execute("UPDATE admin_account SET last_login_at = ? WHERE id = ?",
                             (now, account_id))
            await db.execute("DELETE FROM admin_session WHERE expires_at <= ?", (now,))

    async def admin_by_session(self, token_hash: str, now: float) -> AdminAccount | None:
        """The account of a live session; every admin request asks, so it is a lookup."""
        row = self._lookup(
            "SELECT a.* FROM admin_session s JOIN admin_account a ON a.id = s.account_id"
            " WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled_at IS NULL",
            (token_hash, now))
        return AdminAccount(**dict(row)) if row else None

    async def end_admin_session(self, token_hash: str) -> None:
        await self._run("DELETE FROM admin_session WHERE token_hash = ?", (token_hash,))

    # admin: blocks, purges and reports

    async def block_actor(self, actor_id: str, now: float) -> None:
        await self._run("INSERT OR IGNORE INTO blocked_actor (id, created_at) VALUES (?, ?)",
                        (actor_id, now))
        self._blocked_actors.current().add(actor_id)

    async def unblock_actor(self, actor_id: str) -> bool:
        removed = await self._run("DELETE FROM blocked_actor WHERE id = ?", (actor_id,)) > 0
        self._blocked_actors.current().discard(actor_id)
        return removed

    async def is_actor_blocked(self, actor_id: str) -> bool:
        """Asked by every inbox POST, like `is_blocked`: kept in memory."""
        return actor_id in self._blocked_actors.current()

    async def unblock_domain(self, domain: str) -> bool:
        removed = await self._run("DELETE FROM blocked_domain WHERE domain = ?",
                                  (domain.lower(),)) > 0
        self._blocked.current().discard(domain.lower())
        return removed

    async def blocked_domains(self) -> list[tuple[str, float]]:
        rows = await self._all("SELECT domain, created_at FROM blocked_domain ORDER BY domain")
        return [(row[0], row[1]) for row in rows]

    async def blocked_actors(self) -> list[tuple[str, float]]:
        rows = await self._all("SELECT id, created_at FROM blocked_actor ORDER BY id")
        return [(row[0], row[1]) for row in rows]

    async def purge_actor(self, actor_id: str, now: float) -> PurgeResult:
        async with self._transaction() as db:
            return await _purge(db, {actor_id}, now)

    async def purge_domain(self, domain: str, now: float) -> PurgeResult:
        """Every actor of `domain` (any port) that voted, replied or follows; the ids
        are matched in Python with `domain_of`, the rule the inbox blocks by."""
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                "SELECT DISTINCT voter FROM vote UNION SELECT actor FROM reply"
                " WHERE actor IS NOT NULL UNION SELECT actor_id FROM follower")
            actors = {row[0] for row in rows if domain_of(row[0]) == domain.lower()}
            return await _purge(db, actors, now)

    async def save_report(self, activity_id: str, reporter: str, content: str,
                          objects: tuple[str, ...], now: float) -> bool:
        """False when this Flag was stored already (a retried delivery)."""
        return await self._run(
            "INSERT OR IGNORE INTO report (activity_id, reporter, content, objects, received_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (activity_id, reporter, content, json.dumps(list(objects)), now)) > 0

    async def reports(self, resolved: bool, limit: int, offset: int = 0) -> list[Report]:
        """Newest first."""
        rows = await self._all(
            "SELECT * FROM report WHERE (resolved_at IS NOT NULL) = ?"
            " ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?", (int(resolved), limit, offset))
        return [Report(**{**dict(row), "objects": tuple(json.loads(row["objects"]))})
                for row in rows]

    async def report_count(self, resolved: bool) -> int:
        found: int = await self._scalar(
            "SELECT count(*) FROM report WHERE (resolved_at IS NOT NULL) = ?", (int(resolved),))
        return found

    async def resolve_report(self, report_id: int, now: float) -> bool:
        return await self._run(
            "UPDATE report SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
            (now, report_id)) > 0

    # admin: the moderation queue and exports

    async def staff_replies(self, poll_id: int | None, state: ReplyState | None,
                            limit: int, offset: int = 0) -> list[tuple[Reply, str | None]]:
        """Replies with the commenter's e-mail address (None for fediverse replies),
        oldest first, of one poll or of every live poll, in one state or all."""
        rows = await self._all(
            f"SELECT {', '.join('r.' + c.strip() for c in _REPLY_COLUMNS.split(','))},"
            " r.email FROM reply r JOIN poll p ON p.id = r.poll_id"
            " WHERE p.deleted_at IS NULL AND (? IS NULL OR r.poll_id = ?)"
            " AND (? IS NULL OR r.state = ?) ORDER BY r.published_at, r.id LIMIT ? OFFSET ?",
            (poll_id, poll_id, state, state, limit, offset))
        return [(Reply(**{k: row[k] for k in row.keys() if k != "email"}), row["email"])
                for row in rows]

    async def reply_states(self) -> dict[ReplyState, int]:
        """How many replies of live polls are in each state (the queue's size)."""
        rows = await self._all(
            "SELECT r.state, count(*) FROM reply r JOIN poll p ON p.id = r.poll_id"
            " WHERE p.deleted_at IS NULL GROUP BY r.state")
        counts: dict[ReplyState, int] = {"visible": 0, "pending": 0, "hidden": 0}
        counts.update({row[0]: row[1] for row in rows})
        return counts

    # hub

    async def mirrored_poll(self, poll_id: str) -> MirroredPoll | None:
        row = await self._one("SELECT * FROM hub_poll WHERE id = ? AND deleted_at IS NULL",
                              (poll_id,))
        return _mirrored(row) if row else None

    async def save_mirrored_poll(self, poll: MirroredPoll) -> None:
        values = {**asdict(poll), "options": json.dumps(list(poll.options)),
                  "counts": None if poll.counts is None else json.dumps(list(poll.counts)),
                  "multiple": int(poll.multiple), "public": int(poll.public),
                  "closed": int(poll.closed)}
        columns = ", ".join(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "id")
        await self._run(
            f"INSERT INTO hub_poll ({columns}) VALUES ({', '.join('?' * len(values))})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}", tuple(values.values()))

    async def delete_mirrored_poll(self, poll_id: str, now: float) -> None:
        await self._run("UPDATE hub_poll SET deleted_at = ? WHERE id = ?", (now, poll_id))

    async def mirrored_polls(self, library: str | None = None) -> list[MirroredPoll]:
        rows = await self._all(
            "SELECT * FROM hub_poll WHERE deleted_at IS NULL AND (? IS NULL OR library = ?)"
            " ORDER BY published_at DESC, id", (library, library))
        return [_mirrored(row) for row in rows]

    async def national_copies(self, national_poll: int) -> list[MirroredPoll]:
        rows = await self._all(
            "SELECT * FROM hub_poll WHERE national_poll = ? AND deleted_at IS NULL"
            " ORDER BY library, id", (national_poll,))
        return [_mirrored(row) for row in rows]

    async def replace_hub_replies(self, hub_poll: str, replies: list[HubReply]) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM hub_reply WHERE hub_poll = ?", (hub_poll,))
            await db.executemany(
                "INSERT OR IGNORE INTO hub_reply (id, hub_poll, author_name, author_url,"
                " content, published_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(r.id, r.hub_poll, r.author_name, r.author_url, r.content, r.published_at)
                 for r in replies])

    async def hub_replies(self, hub_polls: list[str]) -> list[HubReply]:
        marks = ", ".join("?" * len(hub_polls))
        rows = await self._all(
            f"SELECT * FROM hub_reply WHERE hub_poll IN ({marks}) ORDER BY published_at, id",
            hub_polls)
        return [HubReply(**dict(row)) for row in rows]

    async def link_national_poll(self, poll_id: int, national_poll: str) -> None:
        await self._run("INSERT OR REPLACE INTO national_link (poll_id, national_poll)"
                        " VALUES (?, ?)", (poll_id, national_poll))

    async def national_poll_of(self, poll_id: int) -> str | None:
        row = self._lookup("SELECT national_poll FROM national_link WHERE poll_id = ?",
                           (poll_id,))
        return row[0] if row else None


# Never `SELECT *`: the `email` column of local comments must not reach a `Reply`.
_REPLY_COLUMNS = ("id, poll_id, actor, author_name, author_handle, author_url, content,"
                  " published_at, updated_at, state")


def _local_actor(row: sqlite3.Row) -> LocalActor:
    return LocalActor(
        username=row["username"],
        name=row["name"],
        summary=row["summary"],
        private_key_pem=row["private_key_pem"],
        public_key_pem=row["public_key_pem"],
        actor_type=row["actor_type"],
    )


def _opinions_json(draft: PollDraft) -> str:
    return json.dumps([{"name": o.name, "role": o.role, "text": o.text} for o in draft.opinions])


def _poll(row: sqlite3.Row, options: tuple[str, ...]) -> Poll:
    return Poll(
        id=row["id"], local_username=row["local_username"], question=row["question"],
        introduction=row["introduction"], article=row["article"],
        opinions=tuple(Opinion(**o) for o in json.loads(row["opinions"])),
        options=options, multiple=bool(row["multiple"]), hide_results=bool(row["hide_results"]),
        end_time=row["end_time"], published_at=row["published_at"],
        edited_at=row["edited_at"], closed_at=row["closed_at"],
        final_update_sent=bool(row["final_update_sent"]),
    )


async def _recount(db: aiosqlite.Connection, poll_id: int, now: float) -> None:
    """Counters from the votes themselves, after votes were removed; owes an Update."""
    await db.execute(
        "UPDATE poll_option SET votes = (SELECT count(*) FROM vote v"
        " WHERE v.poll_id = poll_option.poll_id AND v.choice = poll_option.idx)"
        " WHERE poll_id = ?", (poll_id,))
    await db.execute(
        "UPDATE poll SET voters_count = (SELECT count(*) FROM poll_voter WHERE poll_id = ?),"
        " tally_dirty_since = coalesce(tally_dirty_since, ?) WHERE id = ?",
        (poll_id, now, poll_id))


async def _purge(db: aiosqlite.Connection, actors: set[str], now: float) -> PurgeResult:
    """Remove the actors' votes, replies and follows, then recount each poll they
    touched from the remaining votes (`_recount` also owes each one tally Update).
    Their Notes are tombstoned, as a Delete would leave them: a Create of one sent
    again, after an unblock, under a new activity id, brings nothing back."""
    votes = replies = 0
    touched: set[int] = set()
    for actor in sorted(actors):
        rows = await db.execute_fetchall(
            "SELECT poll_id FROM vote WHERE voter = ? UNION SELECT poll_id FROM reply"
            " WHERE actor = ?", (actor, actor))
        touched.update(row[0] for row in rows)
        await db.execute(
            "INSERT OR IGNORE INTO object_tombstone (id, deleted_at)"
            " SELECT object_id, ? FROM vote WHERE voter = ? AND object_id IS NOT NULL"
            " UNION SELECT id, ? FROM reply WHERE actor = ?", (now, actor, now, actor))
        votes += (await db.execute("DELETE FROM vote WHERE voter = ?", (actor,))).rowcount
        await db.execute("DELETE FROM poll_voter WHERE voter = ?", (actor,))
        replies += (await db.execute("DELETE FROM reply WHERE actor = ?", (actor,))).rowcount
        await db.execute("DELETE FROM follower WHERE actor_id = ?", (actor,))
    for poll_id in sorted(touched):
        await _recount(db, poll_id, now)
    return PurgeResult(votes, replies, tuple(sorted(touched)))


def _mirrored(row: sqlite3.Row) -> MirroredPoll:
    values = {k: row[k] for k in row.keys() if k != "deleted_at"}
    counts = values["counts"]
    values.update(options=tuple(json.loads(values["options"])),
                  counts=None if counts is None else tuple(json.loads(counts)),
                  multiple=bool(values["multiple"]), public=bool(values["public"]),
                  closed=bool(values["closed"]))
    return MirroredPoll(**values)


def _apply_in_transaction(db: aiosqlite.Connection, batch: list[sqlite_writes.Write],
                          ) -> list[Any]:
    """On the database thread: the whole batch, or nothing."""
    connection = db._conn
    connection.execute("BEGIN IMMEDIATE")
    try:
        results = sqlite_writes.apply(connection, batch)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return results


def _reader(path: Path | str) -> sqlite3.Connection:
    """The connection for `_lookup`: it may read, never write."""
    reader = sqlite3.connect(str(path), isolation_level=None)
    reader.row_factory = sqlite3.Row
    reader.execute("PRAGMA query_only=ON")
    reader.execute("PRAGMA busy_timeout=5000")
    return reader
