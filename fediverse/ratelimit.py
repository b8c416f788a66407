"""A budget of inbox activities per remote host, against Sybil floods (security.md A35).

A signature proves which server sent a vote, not that a person stands behind
each actor: a throwaway domain can mint 10,000 actors that all sign validly.
So one host may deliver at most `per_minute` authenticated activities a minute
(a token bucket: a burst up to the budget, then refilled evenly); beyond that
the inbox answers 429 with `Retry-After`, which Mastodon and other servers
honour by retrying later. Only authenticated requests are charged, so forged
ones can neither cost us work here nor spend a real host's budget.

Pure and in memory, with an injected clock. Memory is bounded: a host whose
bucket has refilled is idle and is forgotten (a fresh bucket is the same), and
past `max_hosts` the longest-idle hosts go first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_HOSTS = 10_000


class HostBudget:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_hosts: int = MAX_HOSTS, period: float = 60.0) -> None:
        """`per_minute` per `period` seconds: the visitor limits of the poll page
        (`web.visitors`) use the same bucket per IP address and hour."""
        if per_minute < 1:
            raise ValueError("a host budget must allow at least one activity a minute")
        self._capacity = float(per_minute)
        self._interval = period / per_minute  # seconds per token
        self._clock = clock
        self._max_hosts = max_hosts
        self._buckets: dict[str, tuple[float, float]] = {}  # host -> (tokens, at), oldest first

    def charge(self, host: str) -> int | None:
        """Spend one activity of `host`'s budget: None when it may pass, else the
        whole seconds until it may send again (for `Retry-After`). A refused
        request spends nothing."""
        now = self._clock()
        tokens = self._tokens(host, now)
        if tokens < 1.0:
            return max(1, math.ceil((1.0 - tokens) * self._interval))
        self._buckets.pop(host, None)  # re-inserted last: the dict stays ordered by use
        self._buckets[host] = (tokens - 1.0, now)
        if len(self._buckets) > self._max_hosts:
            self._evict(now)
        return None

    def __len__(self) -> int:
        """Hosts remembered (for tests and metrics)."""
        return len(self._buckets)

    def _tokens(self, host: str, now: float) -> float:
        saved = self._buckets.get(host)
        if saved is None:
            return self._capacity
        tokens, at = saved
        return min(self._capacity, tokens + max(0.0, now - at) / self._interval)

    def _evict(self, now: float) -> None:
        """Forget idle hosts; if too few were idle, the least recently seen down to
        90 % of the bound, so the scan runs once per many new hosts, not per request.
        A host forgotten early only gets a fresh budget: it cannot cause that itself."""
        for host in [h for h in self._buckets if self._tokens(h, now) >= self._capacity]:
            del self._buckets[host]
        while len(self._buckets) > self._max_hosts * 0.9:
            del self._buckets[next(iter(self._buckets))]
