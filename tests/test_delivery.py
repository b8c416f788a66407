"""The delivery queue against real HTTP: fan-out, misbehaving inboxes (A37, A38),
backoff until give-up, unavailable hosts, the per-host limit and dead leases.

Workers are driven with `run_once()` or a bounded `run_forever()` task and an
injected clock; nothing sleeps to wait for work. Rows are read back straight
from the SQLite file, so the assertions see what a restarted process would see.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from harness import FakeRemote, RunningInstance

from activitypub.client import Client, FetchPolicy
from fediverse.delivery import (
    LEASE_SECONDS,
    MAX_DELAY,
    MAX_RETRY_AFTER,
    PROBE_AFTER,
    DeliveryWorker,
    Outbox,
    backoff,
    is_retryable,
)
from fediverse.storage import Follow, HostStatus, RemoteActor

T0 = 1_700_000_000.0
GIVE_UP = 48 * 3600.0
TIMEOUT = 1.0
HANG_TIMEOUT = 2.0  # A37: room for 50 healthy sends (about 0.35 s) before the hang is cut


class Clock:
    """A settable clock for the queue; the HTTP signatures keep real time."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Remote(FakeRemote):
    """A FakeRemote that counts open requests, can be slow, answer by path, or hang."""

    def __init__(self, *, delay: float = 0.0,
                 answers: dict[str, Callable[[], web.Response]] | None = None,
                 hang: set[str] | None = None) -> None:
        super().__init__()
        self.delay, self.answers, self.hang = delay, answers or {}, hang or set()
        self.release, self.hung = asyncio.Event(), asyncio.Event()
        self.attempts: Counter[str] = Counter()
        self.arrived: dict[str, float] = {}
        self.open = self.max_open = 0
        self.inbox_status = self._answer

    def inbox(self, name: str) -> str:
        return f"{self.base}/users/{name}/inbox"

    def _answer(self, request: web.Request) -> web.Response | None:
        make = self.answers.get(request.path)
        return make() if make else None

    async def _inbox(self, request: web.Request) -> web.StreamResponse:
        self.attempts[request.path] += 1
        self.arrived.setdefault(request.path, time.monotonic())
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            if request.path in self.hang:
                self.hung.set()
                await self.release.wait()  # held until the test lets go
                return web.Response(status=202)
            # staggered, so that requests end one by one, not in lockstep
            await asyncio.sleep(self.delay * (1 + self.attempts.total() % 3))
            return await super()._inbox(request)
        finally:
            self.open -= 1

    async def stop(self) -> None:
        self.release.set()
        await super().stop()


class Settled:
    """The instance's store, plus an event once `target` rows have had an attempt
    recorded (done, retried or failed): a run_forever test waits on that."""

    def __init__(self, store: Any, target: int) -> None:
        self._store, self.target, self.count = store, target, 0
        self.event = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _settled(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.event.set()

    async def finish_delivery(self, *args: Any) -> None:
        await self._store.finish_delivery(*args)
        self._settled()

    async def retry_delivery(self, *args: Any) -> None:
        await self._store.retry_delivery(*args)
        self._settled()

    async def fail_delivery(self, *args: Any) -> None:
        await self._store.fail_delivery(*args)
        self._settled()


@dataclass(frozen=True)
class Row:
    state: str
    attempts: int
    next_attempt_at: float
    leased_until: float | None
    last_status: int | None
    last_error: str | None


def rows(instance: RunningInstance) -> dict[str, Row]:
    """Every delivery row by inbox, read from the file as another process would."""
    with sqlite3.connect(instance.settings.database) as db:
        found = db.execute("SELECT inbox, state, attempts, next_attempt_at, leased_until,"
                           " last_status, last_error FROM delivery").fetchall()
    assert len({r[0] for r in found}) == len(found), "one activity per test"
    return {r[0]: Row(*r[1:]) for r in found}


def answer(status: int, **headers: str) -> Callable[[], web.Response]:
    return lambda: web.Response(status=status, headers=headers)


class PrivateResolver(AbstractResolver):
    """Every name resolves to 10.0.0.1, as a hostile inbox's DNS might arrange."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host="10.0.0.1", port=port,
                              family=socket.AF_INET, proto=0, flags=0)]

    async def close(self) -> None:
        pass


class BrokenClient:
    """A client that fails in our own code, not the peer's: an internal error."""

    def __init__(self) -> None:
        self.calls = 0

    async def post(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise RuntimeError("bug")


def path_of(inbox: str) -> str:
    return "/" + inbox.split("/", 3)[3]


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_client(timeout: float = TIMEOUT) -> Client:
    policy = FetchPolicy(allow_http=True, allow_loopback=True, total_timeout=timeout,
                         read_timeout=timeout, connect_timeout=timeout)
    return Client(policy, user_agent="t")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with loopback_client() as made:
        yield made


@pytest.fixture
async def remotes() -> AsyncIterator[Callable[..., Any]]:
    """Start Remote servers on demand; all are stopped at the end."""
    started: list[Remote] = []

    async def start(**kwargs: Any) -> Remote:
        remote = Remote(**kwargs)
        started.append(remote)
        return await remote.start()  # type: ignore[return-value]

    yield start
    for remote in started:
        await remote.stop()


def make_worker(instance: RunningInstance, client: Client, clock: Clock, *, store: Any = None,
                workers: int = 16, per_host: int = 4, unavailable: float = 3 * 86400.0,
                rng: Callable[[], float] = lambda: 0.5,
                wake: asyncio.Event | None = None) -> DeliveryWorker:
    return DeliveryWorker(store or instance.services.store, client, instance.services.urls,
                          workers=workers, per_host=per_host, give_up_seconds=GIVE_UP,
                          unavailable_seconds=unavailable, wake=wake or asyncio.Event(),
                          clock=clock, rng=rng)


async def publish(instance: RunningInstance, clock: Clock, inboxes: list[str]) -> int:
    """Queue one Create from @bieb through the real Outbox."""
    urls = instance.services.urls
    activity = {"id": urls.new_activity(), "type": "Create", "actor": instance.actor_id,
                "object": {"type": "Note", "content": "hallo"}}
    outbox = Outbox(instance.services.store, urls, asyncio.Event(), clock)
    return await outbox.publish(instance.username, activity, inboxes)


async def run_until_settled(worker: DeliveryWorker, settled: Settled, within: float) -> None:
    """Run the production loop until every expected row has had its attempt."""
    task = asyncio.create_task(worker.run_forever())
    try:
        await asyncio.wait_for(settled.event.wait(), within)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# backoff and classification


@pytest.mark.parametrize("rng", [0.0, 0.5, 0.999999])
def test_backoff_doubles_with_jitter_and_is_capped(rng: float):
    for attempts in range(40):
        plain = min(30.0 * 2**attempts, MAX_DELAY)
        delay = backoff(attempts, lambda: rng)
        assert 0.8 * plain <= delay <= 1.2 * plain
    assert backoff(3, lambda: 0.5) == 2 * backoff(2, lambda: 0.5)
    assert backoff(100, lambda: 0.5) == MAX_DELAY


def test_backoff_jitter_spreads_rows_that_fail_together():
    delays = {round(backoff(5, random.Random(seed).random), 3) for seed in range(50)}
    assert len(delays) > 40
    assert min(delays) >= 0.8 * 960 and max(delays) <= 1.2 * 960


def give_up_schedule(rng: float) -> list[float]:
    """The retry delays the worker schedules before `now + delay` passes GIVE_UP."""
    delays: list[float] = []
    while (sum(delays) + backoff(len(delays), lambda: rng)) <= GIVE_UP:
        delays.append(backoff(len(delays), lambda: rng))
    return delays


@pytest.mark.parametrize("rng", [0.0, 0.5, 0.999999])
def test_retries_before_give_up_cover_about_two_days(rng: float):
    delays = give_up_schedule(rng)
    covered = sum(delays)
    # the next delay (at most 1.2 x the cap) would pass the deadline, so the
    # retries span the give-up window minus less than one capped delay
    assert GIVE_UP - 1.2 * MAX_DELAY < covered <= GIVE_UP


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502, 503, 504, 520])
def test_these_statuses_are_retried(status: int):
    assert is_retryable(status)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 413, 415, 422, 501])
def test_these_statuses_are_not_retried(status: int):
    assert not is_retryable(status)


# fan-out


async def test_fan_out_writes_one_row_per_distinct_inbox_and_each_receives_once(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    one, two, down = await remotes(), await remotes(), await remotes()
    clock = Clock()
    store = instance.services.store
    await store.record_host_failure(down.host, T0 - 10 * 86400)
    await store.mark_host_unavailable(down.host, T0)
    wanted = [one.inbox("a"), one.inbox("b"), f"{one.base}/inbox", two.inbox("c")]
    inboxes = [*wanted, one.inbox("a"), instance.inbox, f"{instance.url}/inbox",
               down.inbox("d"), two.inbox("c")]

    await publish(instance, clock, inboxes)

    assert sorted(rows(instance)) == sorted(wanted)
    assert await make_worker(instance, client, clock).run_once() == len(wanted)
    got = [(r.path, r.verified) for remote in (one, two) for r in remote.received]
    assert sorted(got) == sorted((path_of(inbox), True) for inbox in wanted)
    assert down.attempts == Counter()
    assert {r.state for r in rows(instance).values()} == {"done"}
    assert await make_worker(instance, client, clock).run_once() == 0


# A37 and A38: misbehaving inboxes during one fan-out

PERMANENT = (400, 403, 404, 422, 501)
TEMPORARY = (401, 408, 500)


async def add_follower(instance: RunningInstance, actor_id: str, inbox: str) -> None:
    store = instance.services.store
    await store.save_remote_actor(RemoteActor(
        id=actor_id, key_id=f"{actor_id}#main-key", public_key_pem="", inbox=inbox,
        shared_inbox=None, username=None, name=None, url=None, fetched_at=T0))
    await store.save_follower(Follow(instance.username, actor_id, f"{actor_id}#follow",
                                     "accepted", T0))


async def test_misbehaving_inboxes_do_not_hold_up_a_fan_out(
    instance: RunningInstance, remotes: Callable[..., Any],
):
    answers = {f"/users/e{s}/inbox": answer(s) for s in (*PERMANENT, *TEMPORARY, 410)}
    answers["/users/e429/inbox"] = answer(429, **{"Retry-After": "120"})
    bad = await remotes(answers=answers, hang={"/users/hang/inbox"})
    healthy = [await remotes() for _ in range(5)]
    good = [r.inbox(f"h{i}") for i in range(10) for r in healthy]
    hang, refused = bad.inbox("hang"), f"http://127.0.0.1:{closed_port()}/inbox"
    private = "http://10.0.0.1/inbox"
    failing = [bad.inbox(f"e{s}") for s in (*PERMANENT, *TEMPORARY, 410, 429)]
    await add_follower(instance, f"{bad.base}/users/gone", bad.inbox("e410"))
    await add_follower(instance, f"{healthy[0].base}/users/stays", good[0])
    clock = Clock()
    await publish(instance, clock, [hang, *good, *failing, refused, private])
    settled = Settled(instance.services.store, target=len(good) + len(failing) + 3)
    client = loopback_client(HANG_TIMEOUT)
    worker = make_worker(instance, client, clock, store=settled, workers=8, per_host=4)

    # When: the production loop runs one pass, fewer workers than rows
    started = time.monotonic()
    async with client:
        await run_until_settled(worker, settled, within=5 * HANG_TIMEOUT)
    elapsed = time.monotonic() - started

    # Then: the hang was sent first and cut by the timeout, and every healthy
    # inbox had its delivery well before that timeout ran out
    hung_at = bad.arrived["/users/hang/inbox"]
    last_healthy = max(r.arrived[p] for r in healthy for p in r.arrived)
    assert hung_at < min(r.arrived[p] for r in healthy for p in r.arrived)
    assert last_healthy - hung_at < HANG_TIMEOUT
    assert HANG_TIMEOUT <= elapsed < 3 * HANG_TIMEOUT
    got = Counter((f"{remote.base}{r.path}", r.verified)
                  for remote in healthy for r in remote.received)
    assert got == Counter({(inbox, True): 1 for inbox in good})
    state = rows(instance)
    assert {state[i].state for i in good} == {"done"}

    # the hang and the temporary failures wait for a retry, the 429 honouring Retry-After
    for inbox in (hang, refused, *(bad.inbox(f"e{s}") for s in TEMPORARY)):
        assert state[inbox].state == "pending", inbox
        assert T0 < state[inbox].next_attempt_at < T0 + 60, inbox
    assert state[bad.inbox("e500")].last_status == 500
    assert state[hang].last_status is None and state[refused].last_status is None
    assert "Connect" in (state[refused].last_error or ""), state[refused].last_error
    assert state[bad.inbox("e429")].state == "pending"
    assert state[bad.inbox("e429")].next_attempt_at >= T0 + 120

    # 410 removes the follower at that inbox and nobody else; other 4xx are final
    e410 = state[bad.inbox("e410")]
    assert (e410.state, e410.last_status) == ("failed", 410)
    assert [f.actor_id for f in await instance.services.store.followers("bieb", "accepted")
            ] == [f"{healthy[0].base}/users/stays"]
    for status in PERMANENT:
        row = state[bad.inbox(f"e{status}")]
        assert (row.state, row.last_status, row.attempts) == ("failed", status, 1)
    # A38: a private address is refused before any connection, and not retried
    assert (state[private].state, state[private].attempts) == ("failed", 1)
    assert "not allowed" in (state[private].last_error or "")

    # When: everything retryable is due again and the hang now answers
    bad.release.set()
    clock.now = T0 + 121
    async with loopback_client() as client:
        resent = await make_worker(instance, client, clock).run_once()

    # Then: only the retryable rows were sent again; the final ones never
    assert resent == 2 + len(TEMPORARY) + 1
    assert rows(instance)[hang].state == "done"
    assert {p: n for p, n in bad.attempts.items() if n > 1} == {
        path_of(i): 2 for i in (*(bad.inbox(f"e{s}") for s in (*TEMPORARY, 429)), hang)}


async def test_a_cut_hang_records_that_it_timed_out(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes(hang={"/inbox"})
    clock = Clock()
    await publish(instance, clock, [f"{remote.base}/inbox"])

    await make_worker(instance, client, clock).run_once()

    [row] = rows(instance).values()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "Timeout" in (row.last_error or "")


async def test_a_name_resolving_to_a_private_address_is_failed_without_connecting(
    instance: RunningInstance,
):
    policy = FetchPolicy(allow_http=True, allow_loopback=True, total_timeout=TIMEOUT)
    clock = Clock()
    await publish(instance, clock, ["http://evil.test/inbox"])

    async with Client(policy, user_agent="t", resolver=PrivateResolver()) as client:
        assert await make_worker(instance, client, clock).run_once() == 1

    [row] = rows(instance).values()
    assert (row.state, row.attempts, row.last_status) == ("failed", 1, None)
    assert "not allowed" in (row.last_error or "")
    assert await instance.services.store.host_statuses() == [
        HostStatus("evil.test", pending=0, failed=1, failing_since=None, unavailable=False)]


async def test_retry_after_is_honoured_up_to_a_cap(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes(answers={"/inbox": answer(503, **{"Retry-After": "9999999"})})
    clock = Clock()
    await publish(instance, clock, [f"{remote.base}/inbox"])

    await make_worker(instance, client, clock).run_once()

    [row] = rows(instance).values()
    assert (row.state, row.last_status) == ("pending", 503)
    assert row.next_attempt_at == pytest.approx(T0 + MAX_RETRY_AFTER)


# retries until give-up


async def test_a_failing_inbox_is_retried_with_backoff_until_the_queue_gives_up(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes(answers={"/inbox": answer(500)})
    clock = Clock()
    await publish(instance, clock, [f"{remote.base}/inbox"])
    worker = make_worker(instance, client, clock)
    expected = give_up_schedule(0.5)

    delays = []
    while True:
        assert await worker.run_once() == 1
        [row] = rows(instance).values()
        if row.state != "pending":
            break
        delays.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at - 1
        assert await worker.run_once() == 0  # not a second early
        clock.now += 1

    assert delays == pytest.approx(expected)
    assert remote.attempts["/inbox"] == len(expected) + 1 == row.attempts
    assert row.state == "failed" and (row.last_error or "").startswith("gave up")
    assert GIVE_UP - 1.2 * MAX_DELAY < clock.now - T0 <= GIVE_UP
    clock.now += 30 * 86400
    assert await worker.run_once() == 0


async def test_an_internal_error_is_retried_with_backoff_and_given_up_in_time(
    instance: RunningInstance, remotes: Callable[..., Any],
):
    remote = await remotes()
    clock = Clock()
    await publish(instance, clock, [remote.inbox("a")])
    broken = BrokenClient()
    worker = make_worker(instance, broken, clock, rng=lambda: 0.0)  # type: ignore[arg-type]

    assert await worker.run_once() == 1
    [row] = rows(instance).values()
    assert (row.state, row.last_error) == ("pending", "internal error")
    assert row.next_attempt_at == T0 + backoff(0, lambda: 0.0)
    while row.state == "pending":
        clock.now = row.next_attempt_at
        assert await worker.run_once() == 1
        [row] = rows(instance).values()

    assert (row.state, row.last_error) == ("failed", "gave up: internal error")
    assert broken.calls == len(give_up_schedule(0.0)) + 1
    assert await instance.services.store.host_statuses() == [
        HostStatus(remote.host, pending=0, failed=1, failing_since=None, unavailable=False)]


# host unavailability


async def test_a_host_failing_too_long_is_skipped_until_it_speaks_again(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    failing = {"/users/a/inbox": answer(503), "/users/b/inbox": answer(503)}
    down = await remotes(answers=dict(failing))
    down.add_actor("alice")
    up = await remotes()
    clock = Clock()
    await publish(instance, clock, [down.inbox("a"), down.inbox("b")])
    worker = make_worker(instance, client, clock, unavailable=3600.0)
    store = instance.services.store

    # Given: the host fails at T0 and still fails an hour later
    assert await worker.run_once() == 2
    assert await store.unavailable_hosts(0.0) == set()
    clock.now = T0 + 3600
    assert await worker.run_once() == 2
    assert await store.unavailable_hosts(0.0) == {down.host}
    assert [(h.host, h.pending, h.unavailable) for h in await store.host_statuses()
            ] == [(down.host, 2, True)]

    # Then: new activities do not queue for it and pending rows are not leased
    await publish(instance, clock, [down.inbox("c"), up.inbox("d")])
    clock.now = T0 + 86400
    assert await worker.run_once() == 1
    assert [r.path for r in up.received] == ["/users/d/inbox"]
    assert sum(down.attempts.values()) == 4

    # When: the host sends us a valid signed activity, and now answers
    down.answers.clear()
    activity = down.fixture("mastodon-follow.json", instance)
    assert (await down.send(activity, instance.inbox))[0] == 202

    # Then: it is served again
    assert await store.unavailable_hosts(0.0) == set()
    assert await worker.run_once() == 2
    assert sorted(r.path for r in down.received) == ["/users/a/inbox", "/users/b/inbox"]
    assert (await store.delivery_counts())["pending"] == 0


async def test_recorded_success_clears_unavailability(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes()
    store = instance.services.store
    await store.add_outbox_activity("bieb", "urn:test:1", "Create", "{}", False,
                                    [remote.inbox("a")], T0)  # queued before it went down
    await store.record_host_failure(remote.host, T0 - 5 * 86400)
    await store.mark_host_unavailable(remote.host, T0)
    worker = make_worker(instance, client, Clock())
    assert await worker.run_once() == 0

    await store.record_host_success(remote.host)

    assert await worker.run_once() == 1
    assert [r.path for r in remote.received] == ["/users/a/inbox"]


async def test_an_unavailable_mark_expires_and_the_host_is_probed_again(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes()
    store = instance.services.store
    await store.add_outbox_activity("bieb", "urn:test:probe", "Create", "{}", False,
                                    [remote.inbox("a")], T0)
    await store.record_host_failure(remote.host, T0 - 5 * 86400)
    await store.mark_host_unavailable(remote.host, T0)
    clock = Clock()
    worker = make_worker(instance, client, clock)
    assert await worker.run_once() == 0

    clock.now = T0 + PROBE_AFTER

    assert await worker.run_once() == 1
    assert [r.path for r in remote.received] == ["/users/a/inbox"]


# the per-host limit


async def test_no_more_than_per_host_requests_are_open_at_one_host(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    slow, fast = await remotes(delay=0.02), await remotes()
    inboxes = [slow.inbox(f"s{i}") for i in range(10)] + [fast.inbox(f"f{i}") for i in range(10)]
    clock = Clock()
    await publish(instance, clock, inboxes)
    settled = Settled(instance.services.store, target=len(inboxes))
    worker = make_worker(instance, client, clock, store=settled, workers=8, per_host=2)

    await run_until_settled(worker, settled, within=10.0)

    assert slow.max_open == 2
    assert fast.max_open <= 2
    for remote in (slow, fast):
        assert sorted(Counter(r.path for r in remote.received).values()) == [1] * 10
    assert (await instance.services.store.delivery_counts())["done"] == 20


# stopping the loop


async def test_cancelling_the_loop_stops_it_even_as_it_is_woken(
    instance: RunningInstance, client: Client,
):
    leased = asyncio.Event()

    class Watched(Settled):
        async def lease_due_deliveries(self, *args: Any) -> Any:
            try:
                return await self._store.lease_due_deliveries(*args)
            finally:
                leased.set()

    wake = asyncio.Event()
    worker = make_worker(instance, client, Clock(), store=Watched(instance.services.store, 1),
                         wake=wake)
    task = asyncio.create_task(worker.run_forever())
    await leased.wait()  # nothing due: the loop now waits for a wake-up

    wake.set()  # a send finishes...
    task.cancel()  # ...just as the app shuts down

    done, _ = await asyncio.wait([task], timeout=3.0)
    if not done:
        task.cancel()
    assert done, "run_forever swallowed its cancellation and kept running"
    assert task.cancelled()


async def test_cancelling_the_loop_cancels_sends_in_flight_and_keeps_their_rows(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes(hang={"/users/slow/inbox"})
    clock = Clock()
    await publish(instance, clock, [remote.inbox("slow")])
    worker = make_worker(instance, client, clock)
    task = asyncio.create_task(worker.run_forever())
    await asyncio.wait_for(remote.hung.wait(), 5.0)

    task.cancel()
    await asyncio.wait([task], timeout=3.0)

    assert task.cancelled()
    assert not [t for t in asyncio.all_tasks() if "_deliver" in repr(t.get_coro())]
    [row] = rows(instance).values()
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.leased_until is not None  # released at the next start-up
    assert await instance.services.store.release_all_leases() == 1


# leases


async def test_rows_leased_by_a_dead_worker_are_sent_once_after_restart(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes()
    inboxes = [remote.inbox(f"u{i}") for i in range(5)]
    clock = Clock()
    await publish(instance, clock, inboxes)
    store = instance.services.store
    leased = await store.lease_due_deliveries(T0, 10, LEASE_SECONDS, set(), 10)
    assert len(leased) == 5  # a worker took them, then the process died
    worker = make_worker(instance, client, clock)
    assert await worker.run_once() == 0

    assert await store.release_all_leases() == 5  # what build_services does at start-up

    assert await worker.run_once() == 5
    assert Counter(r.path for r in remote.received) == Counter(
        {path_of(i): 1 for i in inboxes})
    assert {r.state for r in rows(instance).values()} == {"done"}


async def test_an_expired_lease_makes_the_row_due_again(
    instance: RunningInstance, client: Client, remotes: Callable[..., Any],
):
    remote = await remotes()
    clock = Clock()
    await publish(instance, clock, [remote.inbox("a")])
    store = instance.services.store
    assert len(await store.lease_due_deliveries(T0, 10, LEASE_SECONDS, set(), 10)) == 1
    worker = make_worker(instance, client, clock)
    clock.now = T0 + LEASE_SECONDS - 1
    assert await worker.run_once() == 0

    clock.now = T0 + LEASE_SECONDS

    assert await worker.run_once() == 1
    assert [r.path for r in remote.received] == ["/users/a/inbox"]
