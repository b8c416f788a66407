"""Fan-out: one tally Update to many followers, delivered to a local sink.

The instance's followers are seeded straight into its database (setup, not
measured): either each with an inbox of its own (`shared_inboxes=None`, the
worst case: one POST per follower) or spread over a number of shared inboxes
(what Mastodon servers offer: one POST per server). All inboxes live on one
sink server, so the per-host limit (8 requests in flight) holds throughout.
The clock starts when the bench asks the instance for the Update
(`/bench/announce`: recipients expanded, rows written, workers woken) and
stops at the last arrival at the sink, which verifies every signature.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp

from activitypub.keys import generate_private_key, private_key_pem, public_key_pem
from fediverse.polls import PollDraft, validate
from fediverse.storage import LocalActor
from fediverse.storage.sqlite import SqliteStore

from . import processes
from .report import Figure, Report, at_least, at_most

USERNAME = "bieb"
TARGET_RATE = 1000.0  # deliveries a second, one inbox each
TARGET_SECONDS = 2.0  # to the last delivery, shared inboxes
DELIVERY_LIMIT = 120.0  # seconds before a fan-out is called off


async def prepare(database: Path, sink: str, followers: int, shared_inboxes: int | None,
                  ) -> tuple[int, str]:
    """The library, its poll and its followers; returns the poll id and the public key."""
    key = generate_private_key()
    store = await SqliteStore.open(database)
    try:
        await store.create_local_actor(LocalActor(
            username=USERNAME, name="Bibliotheek Bench", summary="",
            private_key_pem=private_key_pem(key), public_key_pem=public_key_pem(key),
        ), time.time())
        draft = PollDraft(question="Bench fan-out", end_time=time.time() + 86400)
        poll = await store.create_poll(USERNAME, validate(draft, time.time()), time.time())
    finally:
        await store.close()
    seed_followers(database, sink, followers, shared_inboxes, public_key_pem(key))
    return poll.id, public_key_pem(key)


def seed_followers(database: Path, sink: str, followers: int, shared_inboxes: int | None,
                   pem: str) -> None:
    """Accepted followers, written in one transaction. Through the store this would be
    two fsynced commits per follower: minutes of setup for nothing measured."""
    now = time.time()
    actors = []
    for i in range(followers):
        actor = f"{sink}/users/f{i}"
        shared = f"{sink}/servers/{i % shared_inboxes}/inbox" if shared_inboxes else None
        actors.append((actor, f"{actor}#main-key", pem, f"{actor}/inbox", shared, f"f{i}",
                       None, None, now))
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO remote_actor (id, key_id, public_key_pem, inbox, shared_inbox,"
            " username, name, url, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", actors)
        db.executemany(
            "INSERT INTO follower (local_username, actor_id, follow_id, state, created_at)"
            " VALUES (?, ?, ?, 'accepted', ?)",
            [(USERNAME, a[0], f"{a[0]}#follows/1", now) for a in actors])


def expected_paths(followers: int, shared_inboxes: int | None) -> set[str]:
    if shared_inboxes:
        return {f"/servers/{j}/inbox" for j in range(min(followers, shared_inboxes))}
    return {f"/users/f{i}/inbox" for i in range(followers)}


async def run(workdir: Path, *, followers: int, shared_inboxes: int | None,
              profile: bool = False) -> Report:
    spread = (f"over {shared_inboxes:,} shared inboxes" if shared_inboxes
              else "each to its own inbox")
    report = Report(f"Fan-out: one tally Update to {followers:,} followers, {spread}")
    name = f"fanout-{shared_inboxes or 'distinct'}"
    sink_sock, instance_sock = processes.listening_socket(), processes.listening_socket()
    sink_url = f"http://127.0.0.1:{sink_sock.getsockname()[1]}"
    database = workdir / f"{name}.sqlite3"
    poll_id, pem = await prepare(database, sink_url, followers, shared_inboxes)
    keyfile = workdir / f"{name}-instance-key.pem"
    keyfile.write_text(pem)
    servers = [processes.spawn("sink", "bench.remote", ["--verify-key", str(keyfile)],
                               workdir / f"{name}-sink.log", sink_sock),
               processes.spawn("instance", "bench.instance", ["--database", str(database)],
                               workdir / f"{name}-instance.log", instance_sock)]
    try:
        sink, instance = servers
        await processes.wait_until_serving(sink, "/bench/counts")
        await processes.wait_until_serving(instance, "/healthz")
        store = await SqliteStore.open(database)
        try:
            profiler = (processes.Profile(instance, workdir / f"profile-{name}.txt")
                        if profile else None)
            await measure(report, instance, sink, store, poll_id,
                          expected_paths(followers, shared_inboxes), shared_inboxes is None)
            if profiler:
                profiler.stop()
                report.notes.append(f"profile of the instance: {workdir}/profile-{name}.txt")
        finally:
            await store.close()
    finally:
        for server in servers:
            server.stop()
    return report


async def measure(report: Report, instance: processes.Server, sink: processes.Server,
                  store: SqliteStore, poll_id: int, expected: set[str], distinct: bool) -> None:
    cpu, sink_cpu = instance.cpu(), sink.cpu_seconds()
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(f"{instance.url}/bench/announce/{poll_id}") as response:
            published = time.monotonic()
            report.check(response.status == 202, f"announce answered {response.status}")

        async def arrived() -> bool:
            return bool((await sink_counts(http, sink))["received"] >= len(expected))

        async def settled() -> bool:
            return (await store.delivery_counts())["pending"] == 0

        await processes.poll_until(arrived, 0.02, DELIVERY_LIMIT)
        await processes.poll_until(settled, 0.05, 10)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        counts = await sink_counts(http, sink, paths=True)
    cpu, sink_cpu = instance.cpu() - cpu, sink.cpu_seconds() - sink_cpu
    last = (counts["last_at"] or started) - started
    rate = len(expected) / last if last > 0 else 0.0
    report.add(Figure("recipients expanded and queued", published - started, "s"))
    if distinct:
        report.add(at_least("deliveries", rate, "/s", TARGET_RATE))
        report.add(Figure("time to the last delivery", last, "s"))
    else:
        report.add(Figure("deliveries", rate, "/s"))
        report.add(at_most("time to the last delivery", last, "s", TARGET_SECONDS))
    per = 1000 / max(1, counts["received"])
    report.add(Figure("instance CPU per delivery", cpu.total * per, "ms"))
    report.notes.append(f"per delivery: event-loop thread {cpu.main * per:.2f} ms, database"
                        f" thread {cpu.others * per:.2f} ms; sink {sink_cpu * per:.2f} ms")
    check_counts(report, counts, expected, await store.delivery_counts())


async def sink_counts(http: aiohttp.ClientSession, sink: processes.Server, *,
                      paths: bool = False) -> dict[str, Any]:
    async with http.get(f"{sink.url}/bench/counts", params={"paths": "1"} if paths else {},
                        ) as response:
        found: dict[str, Any] = await response.json()
        return found


def check_counts(report: Report, counts: dict[str, Any], expected: set[str],
                 settled: dict[str, int]) -> None:
    got = set(counts["paths"])
    report.check(not expected - got, f"{len(expected - got):,} inboxes never got the Update")
    report.check(not got - expected, f"{len(got - expected):,} deliveries to unknown inboxes")
    report.check(counts["duplicates"] == 0, f"{counts['duplicates']:,} inboxes got it twice")
    report.check(counts["unverified"] == 0,
                 f"{counts['unverified']:,} deliveries failed signature verification")
    report.check(settled == {"pending": 0, "done": len(expected), "failed": 0},
                 f"the instance's delivery rows: {settled}")
