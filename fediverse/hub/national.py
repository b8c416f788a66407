"""National results, pure: the hub's own votes plus the latest counts of every copy.

A copy is added up only when it asks the same question the same way: the same
options in the same order and the same choice mode. Otherwise it is shown with
the reason and left out. Counts are never deltas: each copy contributes its
latest report, so a library that reports again replaces its own contribution.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..polls import Poll, Tally
from ..storage import MirroredPoll

# Why a copy is not added up (the pages translate these codes).
OPTIONS_DIFFER = "options-differ"
MODE_DIFFERS = "mode-differs"


def refusal_of(copy: MirroredPoll, national: Poll) -> str | None:
    if copy.options != national.options:
        return OPTIONS_DIFFER
    if copy.multiple != national.multiple:
        return MODE_DIFFERS
    return None


def is_stale(poll: MirroredPoll, now: float, stale_seconds: float) -> bool:
    """An open poll the library has not reported on for too long: its host may be
    gone. Shown with its last-known counts, never dropped."""
    return not poll.closed and poll.received_at < now - stale_seconds


@dataclass(frozen=True)
class CopyRow:
    copy: MirroredPoll
    stale: bool
    refusal: str | None  # why it is not added up; None when it matches

    @property
    def counted(self) -> bool:
        return self.refusal is None and self.copy.counts is not None


@dataclass(frozen=True)
class NationalResult:
    own: Tally
    copies: tuple[CopyRow, ...]
    counts: tuple[int, ...]
    voters: int
    final: bool

    @property
    def reported(self) -> int:
        return sum(1 for row in self.copies if row.counted)

    @property
    def tally(self) -> Tally:
        return Tally(self.counts, self.voters)


def national_result(poll: Poll, own: Tally, copies: list[MirroredPoll], now: float,
                    stale_seconds: float) -> NationalResult:
    """Checked against the national poll as it is now (its options may have been
    edited before anyone voted), so a copy's standing is never out of date."""
    rows = tuple(CopyRow(copy, is_stale(copy, now, stale_seconds), refusal_of(copy, poll))
                 for copy in copies)
    counts = list(own.counts)
    voters = own.voters
    for row in rows:
        if row.counted and row.copy.counts is not None:
            counts = [a + b for a, b in zip(counts, row.copy.counts, strict=True)]
            voters += row.copy.voters if row.copy.voters is not None else sum(row.copy.counts)
    final = not poll.is_open(now) and all(
        row.copy.is_final for row in rows if row.refusal is None)
    return NationalResult(own, rows, tuple(counts), voters, final)
