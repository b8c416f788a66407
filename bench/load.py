"""A lean HTTP/1.1 load generator: pre-built request bytes over keep-alive connections.

The generator shares the machine's cores with the server it measures, so it
does as little as it can per request: no client library, no header parsing
beyond the status and Content-Length, no signing (requests are signed before
the clock starts). Each of `connections` workers sends one request, reads the
whole answer, and takes the next: a closed loop, like a busy peer's delivery
workers.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


def request_bytes(method: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 request exactly as it goes on the wire."""
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def retarget(request: bytes, path: str) -> bytes:
    """The same request (headers, body) aimed at another path."""
    line, rest = request.split(b"\r\n", 1)
    method, _, version = line.split(b" ")
    return b" ".join((method, path.encode(), version)) + b"\r\n" + rest


@dataclass
class Outcome:
    """What a run of requests got back."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, one per answer
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0
    timed_out: bool = False

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @classmethod
    def joined(cls, parts: Sequence[Outcome]) -> Outcome:
        """Several runs as one: their answers together, their times end to end (the
        gaps between them, when something else ran, left out)."""
        joined = cls(started=parts[0].started, timed_out=any(p.timed_out for p in parts))
        for part in parts:
            joined.statuses.update(part.statuses)
            joined.latencies.extend(part.latencies)
            joined.errors.update(part.errors)
        joined.finished = joined.started + sum(part.seconds for part in parts)
        return joined

    def rate(self, status: int = 202) -> float:
        return self.statuses[status] / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def drive(port: int, requests: Sequence[bytes], *, connections: int,
                time_limit: float) -> Outcome:
    """Send every request to 127.0.0.1:`port` over `connections` connections."""
    outcome = Outcome()
    order = itertools.count()
    outcome.started = time.monotonic()
    try:
        async with asyncio.timeout(time_limit):
            await asyncio.gather(*(_worker(port, requests, order, outcome)
                                   for _ in range(connections)))
    except TimeoutError:
        outcome.timed_out = True
    outcome.finished = time.monotonic()
    return outcome


async def _worker(port: int, requests: Sequence[bytes], order: itertools.count[int],
                  outcome: Outcome) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (index := next(order)) < len(requests):
            sent = time.monotonic()
            try:
                writer.write(requests[index])
                head = await reader.readuntil(b"\r\n\r\n")
                length = CONTENT_LENGTH.search(head)
                await reader.readexactly(int(length.group(1)) if length else 0)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                outcome.errors[type(exc).__name__] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            outcome.latencies.append(time.monotonic() - sent)
            outcome.statuses[int(head[9:12])] += 1
            if CLOSE.search(head):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()
