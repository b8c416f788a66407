"""The poll domain, pure: what a poll is, what makes a vote count, tallies.

No storage and no HTTP here. The store enforces the same rules again with
unique indexes (one voter per single-choice poll, one row per voter and
option), so a race between two requests cannot break them either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from activitypub.errors import MalformedError

DEFAULT_OPTIONS = ("Eens", "Oneens")
MAX_OPTIONS = 20
MAX_OPTION_LENGTH = 100
MAX_QUESTION_LENGTH = 500
MAX_TEXT_LENGTH = 100_000
MAX_OPINIONS = 20
MAX_DURATION_SECONDS = 366 * 86400
MIN_DURATION_SECONDS = 300


class PollError(ValueError):
    """A poll that cannot be created or changed this way; the message says why."""


@dataclass(frozen=True)
class Opinion:
    name: str
    role: str
    text: str  # Markdown


@dataclass(frozen=True)
class PollDraft:
    """What staff give to create or edit a poll, before it has an id."""

    question: str
    end_time: float
    introduction: str = ""
    article: str = ""  # Markdown
    opinions: tuple[Opinion, ...] = ()
    options: tuple[str, ...] = DEFAULT_OPTIONS
    multiple: bool = False
    hide_results: bool = False


@dataclass(frozen=True)
class Poll:
    id: int
    local_username: str
    question: str
    introduction: str
    article: str
    opinions: tuple[Opinion, ...]
    options: tuple[str, ...]
    multiple: bool
    hide_results: bool
    end_time: float
    published_at: float
    edited_at: float | None = None
    closed_at: float | None = None
    final_update_sent: bool = False

    @property
    def closes_at(self) -> float:
        """When voting ends (or ended): an early close wins over the planned end."""
        return self.closed_at if self.closed_at is not None else self.end_time

    def is_open(self, now: float) -> bool:
        return now < self.closes_at

    def results_public(self, now: float) -> bool:
        """Counts may be shown: always, or for a hidden-results poll once it closed."""
        return not (self.hide_results and self.is_open(now))


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]
    voters: int

    @property
    def total_votes(self) -> int:
        return sum(self.counts)

    def percentages(self) -> tuple[int, ...]:
        """Per option, of the voters (so `anyOf` may add up past 100, as on Mastodon)."""
        if self.voters == 0:
            return tuple(0 for _ in self.counts)
        return tuple(round(100 * count / self.voters) for count in self.counts)


@dataclass(frozen=True)
class VoteOutcome:
    counted: tuple[int, ...] = field(default_factory=tuple)  # option indexes newly counted
    reason: str | None = None  # why nothing (more) was counted


def validate(draft: PollDraft, now: float, *, new_end_time: bool = True) -> PollDraft:
    """A cleaned draft, or PollError naming the first problem. An edit that keeps
    the end time (`new_end_time=False`) is not held to "5 minutes ahead"."""
    question = draft.question.strip()
    if not question or len(question) > MAX_QUESTION_LENGTH:
        raise PollError(f"the question needs 1 to {MAX_QUESTION_LENGTH} characters")
    options = tuple(option.strip() for option in draft.options)
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise PollError(f"a poll needs 2 to {MAX_OPTIONS} options")
    if any(not option or len(option) > MAX_OPTION_LENGTH for option in options):
        raise PollError(f"every option needs 1 to {MAX_OPTION_LENGTH} characters")
    if len(set(options)) != len(options):
        raise PollError("options must differ from each other")
    check_texts(draft)
    if new_end_time:
        check_end_time(draft.end_time, now)
    return PollDraft(question, draft.end_time, draft.introduction.strip(), draft.article,
                     draft.opinions, options, draft.multiple, draft.hide_results)


def check_end_time(end_time: float, now: float) -> None:
    """A poll closes between 5 minutes and a year from `now` (new, edited or reopened)."""
    if not now + MIN_DURATION_SECONDS <= end_time <= now + MAX_DURATION_SECONDS:
        raise PollError("the closing time must lie between 5 minutes and a year ahead")


def check_texts(draft: PollDraft) -> None:
    if len(draft.opinions) > MAX_OPINIONS:
        raise PollError(f"at most {MAX_OPINIONS} opinions")
    texts = [draft.introduction, draft.article, *(o.text for o in draft.opinions)]
    if any(len(text) > MAX_TEXT_LENGTH for text in texts):
        raise PollError(f"texts are limited to {MAX_TEXT_LENGTH} characters")
    if any(not o.name.strip() or not o.text.strip() for o in draft.opinions):
        raise PollError("every opinion needs a name and a text")


def check_edit(poll: Poll, draft: PollDraft, has_votes: bool) -> None:
    """Once anyone voted, what was voted on is fixed.

    Changing options or the choice mode resets every vote on Mastodon; changing
    the proposition under existing votes is how polls get manipulated.
    """
    if not has_votes:
        return
    if draft.options != poll.options or draft.multiple != poll.multiple:
        raise PollError("options and the choice mode are locked once votes exist")
    if draft.question.strip() != poll.question:
        raise PollError("the question is locked once votes exist")


def choices_for(poll: Poll, names: list[str]) -> list[int]:
    """Option indexes for vote names that match an option exactly (Mastodon's rule:
    case and spaces count); unknown names are dropped."""
    index = {name: i for i, name in reversed(list(enumerate(poll.options)))}
    return [index[name] for name in names if name in index]


def refusal(poll: Poll, voter: str, now: float, owner: str) -> str | None:
    """Why a vote by `voter` cannot count at all, or None when it may."""
    if not poll.is_open(now):
        return "the poll is closed"
    if voter == owner:
        return "the poll's own actor cannot vote"
    return None


def draft_of(poll: Poll) -> PollDraft:
    """The poll as a draft, for an edit that changes only some fields."""
    return PollDraft(poll.question, poll.end_time, poll.introduction, poll.article,
                     poll.opinions, poll.options, poll.multiple, poll.hide_results)


def closing_time(text: str, name: str = "closes_at") -> float:
    """Unix time of an ISO-8601 moment that names its timezone: a bare local time
    means something else on the server than on the staff member's laptop."""
    try:
        moment = datetime.fromisoformat(text.strip()) if len(text) <= 64 else None
    except ValueError:
        moment = None
    if moment is None:
        raise MalformedError(f"{name} must be ISO-8601, e.g. 2030-05-01T18:00:00+02:00, "
                             f"not {text[:64]!r}")
    if moment.tzinfo is None:
        raise MalformedError(f"{name} needs a timezone, e.g. +02:00 or Z")
    return moment.timestamp()
