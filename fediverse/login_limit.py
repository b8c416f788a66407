"""A limit on failed logins, per account name and per client address.

Guessing a password needs many tries; a limit per account stops a slow guess at
one account from many addresses, and one per address stops one client from
trying many accounts. The account limit is kept for any name typed, known or
not, so being locked out says nothing about whether an account exists.

Pure and in memory, with an injected clock: one `serve` process owns a database,
and a restart only gives a guesser a fresh start of a few tries. Memory is
bounded: past `max_keys` the oldest entries go first.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 15 * 60
PER_ACCOUNT = 5
PER_ADDRESS = 20
MAX_KEYS = 10_000


class LoginLimit:
    def __init__(self, *, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS,
                 window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}  # oldest first

    def wait(self, account: str, address: str) -> int | None:
        """Whole seconds until a login for `account` from `address` may be tried
        again, or None when it may be tried now."""
        now = self._clock()
        waits = [self._wait(key, now) for key in self._keys(account, address)]
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(account, address):
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            while len(times) > self._limits[key[0]]:
                times.popleft()
            self._failures[key] = times  # re-inserted last: the dict stays ordered by use
        while len(self._failures) > self._max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, account: str) -> None:
        """The right password clears the account's count (not the address's)."""
        self._failures.pop(("account", account.lower()), None)

    def _keys(self, account: str, address: str) -> tuple[tuple[str, str], ...]:
        return (("account", account.lower()), ("address", address))

    def _wait(self, key: tuple[str, str], now: float) -> float | None:
        times = self._failures.get(key)
        if times is None or len(times) < self._limits[key[0]]:
            return None
        until = times[0] + self._window
        return until - now if until > now else None
