"""The persistent outbox: fan-out to inboxes, signed POSTs, retries with backoff.

Every activity we send is first written with one row per inbox (shared inbox
preferred, deduplicated) in one transaction; workers then lease due rows and
POST them. A lease that runs out makes its row due again, so `kill -9` in the
middle of a fan-out loses nothing. Hosts are served independently: at most
`per_host` requests in flight each, so a slow or dead host only ever occupies
its own slots, never a live host's. Rows leased beyond a host's free slots
wait in memory for the next free one, so a host with thousands of rows is
leased about once per `per_host` sends, not once per send.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from functools import partial

from activitypub.client import Client, RequestSigner
from activitypub.errors import AddressNotAllowed, FetchError
from activitypub.keys import load_private_key
from activitypub.vocab import JsonObject, host_of

from .storage import Delivery, Store
from .urls import Urls

log = logging.getLogger(__name__)

BASE_DELAY = 30.0
MAX_DELAY = 6 * 3600.0
MAX_RETRY_AFTER = 6 * 3600.0
LEASE_SECONDS = 120.0
PROBE_AFTER = 7 * 86400.0  # an unavailable host is tried again after this; a failure re-marks it
RETRYABLE = frozenset({401, 408, 429})


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before attempt `attempts + 1`: exponential, capped, with ±20 % jitter
    so that many rows failing together do not retry together."""
    delay = min(BASE_DELAY * 2.0 ** min(attempts, 20), MAX_DELAY)
    return delay * (0.8 + 0.4 * rng())


def is_retryable(status: int) -> bool:
    """Mastodon's rule: 4xx other than 401/408/429, and 501, will never succeed."""
    return status in RETRYABLE or (status >= 500 and status != 501)


class Outbox:
    """Writes activities and their delivery rows; wakes the workers."""

    def __init__(self, store: Store, urls: Urls, wake: asyncio.Event,
                 clock: Callable[[], float] = time.time) -> None:
        self._store, self._urls, self._wake, self._clock = store, urls, wake, clock

    async def publish(self, username: str, activity: JsonObject, inboxes: Iterable[str],
                      *, public: bool = False) -> int:
        """Persist `activity` and queue it for every inbox that may receive it."""
        unavailable = await self._store.unavailable_hosts(self._clock() - PROBE_AFTER)
        own = host_of(self._urls.base)
        targets = [i for i in dict.fromkeys(inboxes)
                   if host_of(i) not in unavailable and host_of(i) != own]
        seq = await self._store.add_outbox_activity(
            username, activity["id"], activity["type"], json.dumps(activity), public, targets,
            self._clock(),
        )
        self._wake.set()
        return seq


class DeliveryWorker:
    def __init__(self, store: Store, client: Client, urls: Urls, *, workers: int, per_host: int,
                 give_up_seconds: float, unavailable_seconds: float, wake: asyncio.Event,
                 clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random) -> None:
        self._store, self._client, self._urls = store, client, urls
        self._workers, self._per_host = workers, per_host
        self._give_up, self._unavailable_after = give_up_seconds, unavailable_seconds
        self._wake, self._clock, self._rng = wake, clock, rng
        self._in_flight: Counter[str] = Counter()
        self._waiting: dict[str, deque[Delivery]] = {}  # leased, for a slot of their host
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._signers: dict[str, RequestSigner] = {}

    async def run_once(self) -> int:
        """Send every row due now, waiting for all of them; for tests and the CLI."""
        sent = 0
        while rows := await self._lease(self._workers):
            sent += len(rows)
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return sent

    async def run_forever(self) -> None:
        """Keep up to `workers` sends in flight; never wait for a slow one to lease more.

        Cancelling it cancels the sends in flight too, before the store and client
        they use are closed; their rows, and those still waiting, stay leased until
        the next start-up.
        """
        try:
            while True:
                self._wake.clear()
                room = self._workers - len(self._tasks) - sum(map(len, self._waiting.values()))
                rows = await self._lease(room) if room > 0 else []
                for row in rows:
                    self._waiting.setdefault(row.host, deque()).append(row)
                for host in dict.fromkeys(row.host for row in rows):  # in lease order
                    self._start_waiting(host)
                if not rows or room <= len(rows):
                    await self._idle(1.0)
        finally:
            self._stopping = True
            self._waiting.clear()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _idle(self, seconds: float) -> None:
        """Wait for a wake-up or `seconds`. Not `wait_for`: on Python 3.11 it swallows a
        cancel that lands as the event is set, and the loop would then never stop."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    def _start_waiting(self, host: str) -> None:
        """Send `host`'s waiting rows while it and the worker have free slots."""
        waiting = self._waiting.get(host)
        while (waiting and self._in_flight[host] < self._per_host
               and len(self._tasks) < self._workers):
            self._in_flight[host] += 1
            task = asyncio.create_task(
                self._deliver(waiting.popleft(), partial(self._slot_freed, host)))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        if not waiting:
            self._waiting.pop(host, None)

    def _slot_freed(self, host: str) -> None:
        """The POST to `host` is over: its next waiting row takes the slot at once,
        without the store; with none waiting, the loop wakes to lease more."""
        self._in_flight[host] -= 1
        if self._in_flight[host] <= 0:
            del self._in_flight[host]
        if self._stopping:
            return
        if host in self._waiting:
            self._start_waiting(host)
        else:
            self._wake.set()

    def _finished(self, task: asyncio.Task[None]) -> None:
        """A worker slot is free (the outcome is recorded): rows waiting for it go; if
        that leaves it free, the loop wakes to lease more."""
        self._tasks.discard(task)
        if self._stopping:
            return
        for host in list(self._waiting):
            self._start_waiting(host)
        if len(self._tasks) < self._workers:
            self._wake.set()

    async def _lease(self, limit: int) -> list[Delivery]:
        """Due rows of hosts with room: a host whose slots are taken, or with rows
        waiting here, is skipped, so what waits here is never more than `per_host`
        rows of one host (and sent well within its lease)."""
        full = {host for host, n in self._in_flight.items() if n >= self._per_host}
        skip = full | set(self._waiting) | await self._store.unavailable_hosts(
            self._clock() - PROBE_AFTER)
        return await self._store.lease_due_deliveries(
            self._clock(), limit, LEASE_SECONDS, skip, self._per_host)

    async def _deliver(self, row: Delivery, sent: Callable[[], None] = lambda: None) -> None:
        try:
            await self._attempt(row, sent)
        except Exception:  # a loop edge: record and keep the worker alive
            log.exception("delivery %s to %s crashed", row.id, row.inbox)
            await self._reschedule(row, None, "internal error", None)

    async def _attempt(self, row: Delivery, sent: Callable[[], None]) -> None:
        """POST the row, then record what came of it. `sent` is called as soon as the
        POST is over: writing down the answer is no request to the host, so its slot
        is free for the next row while the outcome waits for its group commit."""
        try:
            try:
                result = await self._client.post(
                    row.inbox, row.body.encode(), signer=await self._signer(row.local_username))
            finally:
                sent()
        except AddressNotAllowed as exc:
            await self._store.fail_delivery(row.id, self._clock(), None, str(exc))
            return
        except FetchError as exc:
            await self._retry(row, None, str(exc) or type(exc).__name__, None)
            return
        if 200 <= result.status < 300:
            await self._store.finish_delivery(row.id, self._clock(), result.status)
            await self._store.record_host_success(row.host)
        elif result.status == 410:
            removed = await self._store.remove_followers_at_inbox(row.inbox)
            log.info("%s is gone (410): removed %d follower(s)", row.inbox, removed)
            await self._store.fail_delivery(row.id, self._clock(), 410, "gone")
        elif is_retryable(result.status):
            await self._retry(row, result.status, result.reason, result.retry_after)
        else:
            await self._store.fail_delivery(row.id, self._clock(), result.status, result.reason)

    async def _retry(self, row: Delivery, status: int | None, error: str,
                     retry_after: float | None) -> None:
        """A failure of the host's making: it counts toward marking the host unavailable."""
        now = self._clock()
        failing_since = await self._store.record_host_failure(row.host, now)
        if now - failing_since >= self._unavailable_after:
            log.warning("%s has failed since %s: marked unavailable", row.host, failing_since)
            await self._store.mark_host_unavailable(row.host, now)
        await self._reschedule(row, status, error, retry_after)

    async def _reschedule(self, row: Delivery, status: int | None, error: str,
                          retry_after: float | None) -> None:
        """Back off, or give up once the next try would be past the deadline: a row
        that keeps failing (even by our own fault) must not stay pending for ever."""
        now = self._clock()
        delay = backoff(row.attempts, self._rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        if now + delay - row.created_at > self._give_up:
            await self._store.fail_delivery(row.id, now, status, f"gave up: {error}")
        else:
            await self._store.retry_delivery(row.id, now + delay, status, error)

    async def _signer(self, username: str) -> RequestSigner:
        if username not in self._signers:
            actor = await self._store.local_actor(username)
            if actor is None:
                raise RuntimeError(f"no local actor {username!r} to sign with")
            self._signers[username] = RequestSigner(
                self._urls.key_id(username), load_private_key(actor.private_key_pem))
        return self._signers[username]
