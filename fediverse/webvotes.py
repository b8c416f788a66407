"""Votes cast on the poll page, counted exactly like fediverse votes.

A browser is identified by a random id in a signed cookie (`web.voters`); the
voter recorded is `urn:peiling:browser:<id>`, which is not a URL and matches no
remote actor, so it never becomes a delivery address (`voter_inboxes` joins
remote actors) and, like every voter, is never published: the Question carries
counts only. The same `record_vote` bumps the same counters and marks the poll
for a debounced tally Update, so web and fediverse votes add up everywhere.

One vote per poll and browser, also for multiple-choice polls (where the store
alone would let a second visit add options): the check and the write run under
one lock per poll. One `serve` process owns a database, so an
in-process lock is enough.

This stops a person voting twice by accident, not a determined one: a fresh
browser (or cleared cookies) is a new voter. The per-IP limit bounds how fast
that can be scripted. Both are documented in the README as what they are.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from . import polls
from .i18n import gettext as _
from .services import Services

VOTER_PREFIX = "urn:peiling:browser:"


class VoteRefused(ValueError):
    """A web vote that does not count; the message is for the visitor."""


def voter_id(browser_id: str) -> str:
    return f"{VOTER_PREFIX}{browser_id}"


def option_index(value: str, poll: polls.Poll) -> int | None:
    """The option a form value names (its index as ASCII digits), or None."""
    if not (value.isascii() and value.isdigit() and len(value) <= 3):
        return None
    index = int(value)
    return index if index < len(poll.options) else None


def chosen_options(poll: polls.Poll, sent: list[str]) -> list[int]:
    """Option indexes from the form's `choice` values, or VoteRefused: a single-choice
    poll takes exactly one, a multiple-choice poll one or more, all known."""
    if not sent:
        raise VoteRefused(_("Please choose an option before voting."))
    found = [option_index(value, poll) for value in sent[:polls.MAX_OPTIONS + 1]]
    if len(sent) > len(poll.options) or None in found:
        raise VoteRefused(_("That option is not part of this poll."))
    choices = sorted({index for index in found if index is not None})
    if not poll.multiple and len(choices) != 1:
        raise VoteRefused(_("Please choose one option."))
    return choices


class BallotBox:
    """Web votes of one running app; the per-poll locks live as long as it does
    (one lock per poll: polls are few, and a lock is bound to its event loop)."""

    def __init__(self) -> None:
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def cast(self, services: Services, poll: polls.Poll, browser_id: str,
                   choices: list[int]) -> None:
        """Count the vote or raise VoteRefused; nothing is stored when refused."""
        voter = voter_id(browser_id)
        async with self._locks[poll.id]:
            now = time.time()
            if not poll.is_open(now):
                raise VoteRefused(_("This poll is closed: votes are no longer counted."))
            if await services.store.has_voted(poll.id, voter):
                raise VoteRefused(_("You have already voted in this poll."))
            await services.store.record_vote(poll.id, voter, choices, not poll.multiple,
                                             None, now)
