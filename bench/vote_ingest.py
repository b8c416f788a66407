"""Vote ingest: many remote voters, pre-signed Mastodon votes, 32 connections at the inbox.

Phases, all against one instance process:

1. first contact: each voter's first vote (a single-choice poll). The
   instance has never seen these voters, so each request also fetches the
   voter's actor from the fake remote; reported, not held to a target.
2. timed, in ROUNDS rounds: a slice of no-op requests (the timed requests'
   exact bytes, aimed at `/bench/noop`: what the web stack alone sustains on
   this machine, the baseline for the ratio), then a slice of the timed votes
   (two multiple-choice polls; Mastodon sends one Create per chosen option,
   plus a share re-sent as a retrying server would). Accepted votes per
   second, latency, and the time after the last answer until the store's
   tallies equal exactly the votes sent.
3. a last no-op slice, once the inbox worker is idle.

The rates are totals over all rounds; the rounds alternate because a shared
machine's noise comes and goes over seconds, and a burst then lands on both
rates rather than on one (each round's own ratio is printed too).

Signatures are made before any clock starts; they stay valid for Mastodon's
window (65 minutes), far longer than a run.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from activitypub import httpsig
from activitypub.keys import generate_private_key, private_key_pem, public_key_pem
from activitypub.vocab import AS_CONTEXT, JsonObject
from fediverse.polls import PollDraft, Tally, validate
from fediverse.storage import LocalActor
from fediverse.storage.sqlite import SqliteStore
from fediverse.urls import Urls

from . import load, processes
from .remote import key_index
from .report import Figure, Report, at_least, at_most

USERNAME = "bieb"
VOTER_KEYS = 8
OPTIONS = ("Eens", "Oneens", "Weet niet", "Geen mening")
RESENT_SHARE = 0.02
TARGET_RATE = 1000.0
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.7
PHASE_LIMIT = 120.0  # seconds any one phase may take before it is called off
TALLY_LIMIT = 60.0  # seconds after the last send for the tallies to come right
ROUNDS = 5  # the timed votes go in this many slices, each after a slice of no-op requests


@dataclass(frozen=True)
class Vote:
    voter: int
    poll_id: int
    option: str
    number: int  # Mastodon's PollVote id: makes the activity id


@dataclass
class Plan:
    first_contact: list[Vote]
    timed: list[Vote]  # in sending order, re-sent votes included
    expected: dict[int, Tally]

    @property
    def distinct(self) -> int:
        return len({v.number for v in self.first_contact + self.timed})


def plan_votes(voters: int, single: int, multiple: list[int], rng: random.Random) -> Plan:
    """Who votes for what: everyone once on `single`, a random non-empty set of options on
    each `multiple` poll; the expected tallies follow from the plan, not from the server."""
    numbers = iter(range(1, 10**9))
    first = [Vote(v, single, rng.choice(OPTIONS), next(numbers)) for v in range(voters)]
    timed = [Vote(v, poll, option, next(numbers)) for v in range(voters) for poll in multiple
             for option in rng.sample(OPTIONS, rng.randint(1, len(OPTIONS)))]
    rng.shuffle(timed)
    resent = rng.sample(timed, int(len(timed) * RESENT_SHARE))
    for vote in resent:  # a retry arrives a while after the original
        timed.insert(rng.randint(timed.index(vote) + 1, len(timed)), vote)
    return Plan(first, timed, expected_tallies(first + timed))


def expected_tallies(votes: list[Vote]) -> dict[int, Tally]:
    distinct = {(v.poll_id, v.voter, v.option) for v in votes}
    counts: dict[int, Counter[str]] = {}
    voters: dict[int, set[int]] = {}
    for poll_id, voter, option in distinct:
        counts.setdefault(poll_id, Counter())[option] += 1
        voters.setdefault(poll_id, set()).add(voter)
    return {poll_id: Tally(tuple(counts[poll_id][o] for o in OPTIONS), len(voters[poll_id]))
            for poll_id in counts}


class Signer:
    """Mastodon-shaped votes (mastodon-polls.md §3), signed as their voters would."""

    def __init__(self, remote: str, instance: str, keys: list[RSAPrivateKey]) -> None:
        self._remote, self._urls, self._keys = remote, Urls(instance), keys
        self.inbox = self._urls.inbox(USERNAME)
        self.path = self.inbox.removeprefix(instance)

    def activity(self, vote: Vote) -> JsonObject:
        actor = f"{self._remote}/users/v{vote.voter}"
        library = self._urls.actor(USERNAME)
        return {
            "@context": AS_CONTEXT, "id": f"{actor}#votes/{vote.number}/activity",
            "type": "Create", "actor": actor, "to": library,
            "object": {"id": f"{actor}#votes/{vote.number}", "type": "Note",
                       "name": vote.option, "attributedTo": actor,
                       "inReplyTo": self._urls.poll(vote.poll_id), "to": library},
        }

    def request(self, vote: Vote) -> bytes:
        body = json.dumps(self.activity(vote)).encode()
        name = f"v{vote.voter}"
        headers = httpsig.sign(
            "POST", self.inbox, {"Content-Type": "application/activity+json"}, body,
            key_id=f"{self._remote}/users/{name}#main-key",
            private_key=self._keys[key_index(name, len(self._keys))], now=datetime.now(UTC))
        return load.request_bytes("POST", self.path, headers, body)


async def prepare(database: Path) -> tuple[int, list[int]]:
    """The library and its polls, made through the store before the server starts."""
    store = await SqliteStore.open(database)
    try:
        key = generate_private_key()
        await store.create_local_actor(LocalActor(
            username=USERNAME, name="Bibliotheek Bench", summary="",
            private_key_pem=private_key_pem(key), public_key_pem=public_key_pem(key),
        ), time.time())
        ids = []
        for multiple in (False, True, True):
            draft = PollDraft(question=f"Bench {'anyOf' if multiple else 'oneOf'}",
                              end_time=time.time() + 86400, options=OPTIONS, multiple=multiple)
            ids.append((await store.create_poll(USERNAME, validate(draft, time.time()),
                                                time.time())).id)
    finally:
        await store.close()
    return ids[0], ids[1:]


class Watch:
    """Reads the instance's store (a second connection, WAL readers do not block)."""

    def __init__(self, store: SqliteStore, expected: dict[int, Tally]) -> None:
        self._store, self._expected = store, expected

    async def tallies(self, polls: list[int] | None = None) -> dict[int, Tally]:
        return {p: await self._store.tally(p) for p in polls or list(self._expected)}

    async def exact(self, polls: list[int] | None = None) -> bool:
        found = await self.tallies(polls)
        return all(found[p] == self._expected[p] for p in found)

    async def until_exact(self, polls: list[int] | None, limit: float) -> float | None:
        """Monotonic time at which the tallies came right, or None after `limit` seconds."""
        if await processes.poll_until(lambda: self.exact(polls), 0.01, limit):
            return time.monotonic()
        return None

    async def stored(self) -> int:
        return await self._store.inbox_activity_count()

    async def until_idle(self, limit: float) -> bool:
        """Whether the inbox worker has applied everything stored."""
        async def idle() -> bool:
            return not await self._store.pending_inbox_activities(1)
        return await processes.poll_until(idle, 0.05, limit)


@dataclass
class Phase:
    outcome: load.Outcome
    cpu: processes.Cpu  # the instance's, while the phase ran
    generator_cpu: float

    def per_request(self, seconds: float) -> float:
        """Milliseconds of `seconds` per answered request."""
        return seconds / max(1, len(self.outcome.latencies)) * 1000


async def drive(server: processes.Server, requests: list[bytes], connections: int,
                profile: Path | None = None) -> Phase:
    """Send `requests` and note what each side spent in CPU meanwhile."""
    cpu, generator_cpu = server.cpu(), time.process_time()
    profiler = processes.Profile(server, profile) if profile else None
    outcome = await load.drive(server.port, requests, connections=connections,
                               time_limit=PHASE_LIMIT)
    if profiler:
        profiler.stop()
    return Phase(outcome, server.cpu() - cpu, time.process_time() - generator_cpu)


async def run(workdir: Path, *, voters: int, connections: int, profile: bool = False,
              seed: int = 1) -> Report:
    report = Report(f"Vote ingest: {voters:,} voters, {connections} connections")
    keys = [generate_private_key() for _ in range(VOTER_KEYS)]
    keyfile = workdir / "voter-keys.json"
    keyfile.write_text(json.dumps({"public_keys": [public_key_pem(k) for k in keys]}))
    database = workdir / "ingest.sqlite3"
    single, multiple = await prepare(database)
    servers = [processes.spawn("actors", "bench.remote", ["--keys", str(keyfile)],
                               workdir / "actors.log"),
               processes.spawn("instance", "bench.instance", ["--database", str(database)],
                               workdir / "instance.log")]
    try:
        remote, instance = servers
        await processes.wait_until_serving(remote, "/bench/counts")
        await processes.wait_until_serving(instance, "/healthz")
        plan = plan_votes(voters, single, multiple, random.Random(seed))
        signer = Signer(remote.url, instance.url, keys)
        store = await SqliteStore.open(database)
        try:
            await measure(report, instance, signer, plan, Watch(store, plan.expected),
                          connections, workdir if profile else None)
        finally:
            await store.close()
    finally:
        for server in servers:
            server.stop()
    return report


async def measure(report: Report, instance: processes.Server, signer: Signer, plan: Plan,
                  watch: Watch, connections: int, profiles: Path | None) -> None:
    """First contact, then the timed votes in ROUNDS slices, each after a slice of no-op
    requests, and a last no-op slice: noise on a shared machine (it comes and goes
    over seconds) then falls on both rates alike instead of on one of them."""
    started = time.monotonic()
    first = [signer.request(v) for v in plan.first_contact]
    timed = [signer.request(v) for v in plan.timed]
    noop = [load.retarget(r, "/bench/noop") for r in timed]
    report.notes.append(f"signed {len(first) + len(timed):,} requests in"
                        f" {time.monotonic() - started:.1f} s before any clock started")
    contact = await drive(instance, first, connections)
    report.check(await watch.until_exact([plan.first_contact[0].poll_id], TALLY_LIMIT)
                 is not None, "first-contact votes never added up")
    tallied = asyncio.create_task(watch.until_exact(None, PHASE_LIMIT * ROUNDS + TALLY_LIMIT))
    noops: list[Phase] = []
    votes: list[Phase] = []
    for n, (votes_slice, noop_slice) in enumerate(zip(_slices(timed), _slices(noop),
                                                      strict=True)):
        profiled = profiles if n == ROUNDS // 2 else None
        noops.append(await drive(instance, noop_slice, connections,
                                 profiled / "profile-noop.txt" if profiled else None))
        votes.append(await drive(instance, votes_slice, connections,
                                 profiled / "profile-votes.txt" if profiled else None))
    complete = await tallied
    report.check(await watch.until_idle(TALLY_LIMIT), "the inbox worker never caught up")
    noops.append(await drive(instance, _slices(noop)[0], connections))
    add_figures(report, noops, contact, votes, complete)
    if profiles:
        report.notes.append(f"py-spy profiles of round {ROUNDS // 2 + 1}: {profiles}/"
                            "profile-noop.txt, profile-votes.txt")
    await check_counts(report, watch, plan, [contact, *votes, *noops])


def _slices(requests: list[bytes]) -> list[list[bytes]]:
    size = -(-len(requests) // ROUNDS)
    return [requests[i:i + size] for i in range(0, len(requests), size)]


def _joined(phases: list[Phase]) -> Phase:
    cpu = phases[0].cpu
    for phase in phases[1:]:
        cpu = cpu + phase.cpu
    return Phase(load.Outcome.joined([p.outcome for p in phases]), cpu,
                 sum(p.generator_cpu for p in phases))


def add_figures(report: Report, noop_rounds: list[Phase], contact: Phase,
                vote_rounds: list[Phase], complete: float | None) -> None:
    noops, votes = _joined(noop_rounds), _joined(vote_rounds)
    v = votes.outcome
    noop_rate = noops.outcome.rate()
    report.add(Figure("no-op endpoint (same app and server)", noop_rate, "req/s"))
    report.add(Figure("first contact (vote + actor fetch)", contact.outcome.rate(), "votes/s"))
    report.add(at_least("signed votes accepted", v.rate(), "votes/s", TARGET_RATE))
    report.add(Figure("latency p50", v.percentile(50) * 1000, "ms"))
    report.add(at_most("latency p99", v.percentile(99) * 1000, "ms", TARGET_P99_MS))
    report.add(at_least("ratio to the no-op rate", v.rate() / max(noop_rate, 1e-9), "",
                        TARGET_RATIO))
    report.add(Figure("sending took", v.seconds, "s"))
    if complete is not None:
        report.add(Figure("tallies complete after the last answer",
                          max(0.0, complete - vote_rounds[-1].outcome.finished), "s"))
    noop_ms = noops.per_request(noops.cpu.total)
    vote_ms = votes.per_request(votes.cpu.total)
    report.add(Figure("instance CPU per no-op request", noop_ms, "ms"))
    report.add(Figure("instance CPU per vote (ingest and tally)", vote_ms, "ms"))
    ratios = [b.outcome.rate() / max(a.outcome.rate(), 1e-9)
              for a, b in zip(noop_rounds, vote_rounds, strict=False)]
    report.notes.append(
        f"{ROUNDS} rounds: no-op {_span(p.outcome.rate() for p in noop_rounds)} req/s,"
        f" votes {_span(p.outcome.rate() for p in vote_rounds)} votes/s, ratio of each"
        f" round's votes to the no-op just before {_span(ratios, '.2f')};"
        f" no-op p99 {noops.outcome.percentile(99) * 1000:.0f} ms")
    report.notes.append(
        f"per vote: event-loop thread {votes.per_request(votes.cpu.main):.2f} ms, database"
        f" thread {votes.per_request(votes.cpu.others):.2f} ms; load generator"
        f" {votes.per_request(votes.generator_cpu):.2f} ms; CPU ratio no-op/vote"
        f" {noop_ms / max(vote_ms, 1e-9):.2f}")


def _span(values: Iterable[float], spec: str = ",.0f") -> str:
    ordered = sorted(values)
    return f"{ordered[0]:{spec}}–{ordered[-1]:{spec}}"


async def check_counts(report: Report, watch: Watch, plan: Plan, phases: list[Phase]) -> None:
    """Every answer a 202, every vote counted once: even after the worker went idle.
    `phases` are first contact, the vote rounds, then the no-op rounds."""
    for phase in phases:
        o = phase.outcome
        report.check(not o.timed_out, f"a phase ran out of time ({PHASE_LIMIT:.0f} s)")
        report.check(not o.errors, f"connection errors: {dict(o.errors)}")
        report.check(set(o.statuses) <= {202}, f"answers other than 202: {dict(o.statuses)}")
    await asyncio.sleep(0.5)
    found = await watch.tallies()
    for poll_id, expected in plan.expected.items():
        report.check(found[poll_id] == expected,
                     f"poll {poll_id}: tallies {found[poll_id]} but sent {expected}")
    stored = await watch.stored()
    report.check(stored == plan.distinct,
                 f"{stored} inbox activities stored for {plan.distinct} distinct votes sent")
    sent = sum(len(p.outcome.latencies) for p in phases[:ROUNDS + 1])
    report.notes.append(f"{sent:,} vote requests ({sent - plan.distinct:,} of them re-sent"
                        f" duplicates) for {plan.distinct:,} distinct votes")
