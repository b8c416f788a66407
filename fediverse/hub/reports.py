"""What a library's Question tells the hub, and whether it is newer than what we hold.

Pure: no storage, no HTTP. A report is only ever a whole set of counts with the
library's stamp of when they were current (`countedAt`); the hub keeps the
latest one per poll and never adds deltas, so a replayed, late or repeated
Update cannot count anything twice, and a newer report may lower counts (a
library that removed a blocked domain's votes).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from activitypub.errors import MalformedError
from activitypub.vocab import JsonObject, get_id, host_of, is_public

from ..storage import MirroredPoll

MAX_OPTIONS = 100
MAX_NAME_CHARS = 500
MAX_QUESTION_CHARS = 1000
FUTURE_SKEW_SECONDS = 3600.0  # a stamp further ahead than this is a broken clock


def report_from(question: JsonObject, actor: str, now: float,
                national_poll: int | None) -> MirroredPoll:
    """The Question as the hub keeps it; MalformedError when it is no usable poll.

    Questions without our stamp (Mastodon's own, say) are stamped with the time
    we received them: the last one processed wins, as on Mastodon itself.
    """
    poll_id = get_id(question)
    if not poll_id or host_of(poll_id) != host_of(actor):
        raise MalformedError("the poll is not on its actor's host")
    if get_id(question.get("attributedTo")) != actor:
        raise MalformedError("the poll is not attributed to its sender")
    names, counts = options_of(question)
    stamp = parse_time(question.get("countedAt"))
    if stamp is not None and stamp > now + FUTURE_SKEW_SECONDS:
        raise MalformedError("countedAt lies in the future")
    voters = question.get("votersCount")
    closed = question.get("closed")
    return MirroredPoll(
        id=poll_id, library=actor, question=plain_text(question.get("content")),
        url=_url(question.get("url")) or poll_id, options=names,
        multiple="anyOf" in question, public=is_public(question.get("to"))
        or is_public(question.get("cc")),
        counts=counts, voters=voters if _is_count(voters) and counts is not None else None,
        counted_at=stamp if stamp is not None else now,
        end_time=parse_time(question.get("endTime")) or parse_time(closed),
        closed=closed not in (None, False), national_poll=national_poll,
        published_at=min(parse_time(question.get("published")) or now, now), received_at=now,
    )


def merged(held: MirroredPoll | None, report: MirroredPoll) -> MirroredPoll | None:
    """What to store after `report`, or None when it changes nothing.

    An older or equal stamp (a replay, a late delivery) is ignored whole. A report
    without counts (the public Question of a poll that hides its results) updates
    the poll but keeps the counts we have and their stamp, which came privately.
    """
    if held is None:
        return report
    if held.counted_at is not None and report.counted_at is not None \
            and report.counted_at <= held.counted_at:
        return None
    public = held.public or report.public  # the counts of a hidden poll come privately
    if report.counts is None:
        return replace(report, counts=held.counts, voters=held.voters,
                       counted_at=held.counted_at, public=public)
    return replace(report, public=public)


def options_of(question: JsonObject) -> tuple[tuple[str, ...], tuple[int, ...] | None]:
    if ("oneOf" in question) == ("anyOf" in question):
        raise MalformedError("a poll has exactly one of oneOf and anyOf")
    items = question.get("anyOf", question.get("oneOf"))
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_OPTIONS:
        raise MalformedError(f"a poll has 1 to {MAX_OPTIONS} options")
    names, counts = [], []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise MalformedError("every option needs a name")
        replies = item.get("replies")
        total = replies.get("totalItems") if isinstance(replies, dict) else None
        if total is not None and not _is_count(total):
            raise MalformedError("an option's count is not a count")
        names.append(name)
        counts.append(total)
    if len(set(names)) != len(names):
        raise MalformedError("options must differ")
    if all(c is None for c in counts):
        return tuple(names), None
    known = [c for c in counts if c is not None]
    if len(known) != len(counts):
        raise MalformedError("some options have counts and others not")
    return tuple(names), tuple(known)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _url(value: Any) -> str | None:
    url = get_id(value)
    return url if url and url.startswith(("https://", "http://")) else None


class _FirstParagraph(HTMLParser):
    """The text of the first paragraph: our Questions put the proposition there."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.done = False

    def handle_data(self, data: str) -> None:
        if not self.done:
            self.parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and "".join(self.parts).strip():
            self.done = True


def plain_text(content: Any) -> str:
    if not isinstance(content, str) or not content.strip():
        raise MalformedError("a poll needs content")
    parser = _FirstParagraph()
    parser.feed(content[:20_000])
    text = " ".join("".join(parser.parts).split())
    if not text:
        raise MalformedError("a poll needs content")
    return text[:MAX_QUESTION_CHARS]
