"""The hub's arithmetic, pure: the latest report wins, copies add up only when they match."""

from __future__ import annotations

from dataclasses import replace

from fediverse.hub.national import MODE_DIFFERS, OPTIONS_DIFFER, national_result, refusal_of
from fediverse.hub.reports import merged
from fediverse.polls import Poll, Tally
from fediverse.storage import MirroredPoll

NOW = 1_800_000_000.0
REPORT = MirroredPoll(
    id="https://bieb.example/polls/1", library="https://bieb.example/users/bieb",
    question="Zondag open?", url="https://bieb.example/polls/1", options=("Eens", "Oneens"),
    multiple=False, public=True, counts=(3, 1), voters=4, counted_at=NOW, end_time=NOW + 3600,
    closed=False, national_poll=1, published_at=NOW - 60, received_at=NOW)
NATIONAL = Poll(id=1, local_username="hub", question="Zondag open?", introduction="",
                article="", opinions=(), options=("Eens", "Oneens"), multiple=False,
                hide_results=False, end_time=NOW + 3600, published_at=NOW - 120)


def test_a_newer_report_replaces_the_counts_even_downwards():
    lower = replace(REPORT, counts=(2, 1), voters=3, counted_at=NOW + 1)

    assert merged(REPORT, lower) == lower


def test_an_older_or_equal_report_changes_nothing():
    assert merged(REPORT, replace(REPORT, counts=(9, 9), counted_at=NOW - 1)) is None
    assert merged(REPORT, replace(REPORT, counts=(9, 9))) is None


def test_a_report_without_counts_keeps_the_privately_reported_ones():
    private = replace(REPORT, public=False)
    public_hidden = replace(REPORT, counts=None, voters=None, counted_at=NOW + 5, closed=True)

    kept = merged(private, public_hidden)

    assert kept is not None
    assert (kept.counts, kept.voters, kept.counted_at, kept.closed) == ((3, 1), 4, NOW, True)
    private_later = replace(REPORT, public=False, counted_at=NOW + 1)
    assert merged(REPORT, private_later) == replace(private_later, public=True)  # stays public


def test_copies_add_up_only_with_the_same_options_and_mode():
    assert refusal_of(REPORT, NATIONAL) is None
    assert refusal_of(replace(REPORT, options=("Oneens", "Eens")), NATIONAL) == OPTIONS_DIFFER
    assert refusal_of(replace(REPORT, multiple=True), NATIONAL) == MODE_DIFFERS


def test_the_national_result_sums_own_votes_and_counted_copies():
    other = replace(REPORT, id="https://stad.example/polls/4", counts=(0, 2), voters=2)
    refused = replace(REPORT, id="https://x.example/polls/1", options=("Ja", "Nee"))
    silent = replace(REPORT, id="https://y.example/polls/1", counts=None, voters=None)

    result = national_result(NATIONAL, Tally((1, 0), 1), [REPORT, other, refused, silent],
                             NOW, 86400)

    assert (result.counts, result.voters, result.reported) == ((4, 3), 7, 2)
    assert result.tally.percentages() == (57, 43)
    assert not result.final


def test_the_result_is_final_when_the_poll_and_every_counted_copy_closed():
    closed = replace(REPORT, closed=True)
    ended = replace(NATIONAL, closed_at=NOW - 1)

    assert national_result(ended, Tally((0, 0), 0), [closed], NOW, 86400).final
    assert not national_result(ended, Tally((0, 0), 0), [REPORT], NOW, 86400).final
    assert not national_result(NATIONAL, Tally((0, 0), 0), [closed], NOW, 86400).final


def test_an_open_copy_without_news_for_too_long_is_stale_not_dropped():
    result = national_result(NATIONAL, Tally((0, 0), 0), [REPORT], NOW + 2 * 86400, 86400)

    assert [row.stale for row in result.copies] == [True]
    assert result.counts == (3, 1)


def test_copies_are_checked_against_the_national_poll_as_it_is_now():
    edited = replace(NATIONAL, options=("Eens", "Oneens", "Weet niet"))

    result = national_result(edited, Tally((1, 0, 2), 3), [REPORT], NOW, 86400)

    assert [row.refusal for row in result.copies] == [OPTIONS_DIFFER]
    assert (result.counts, result.voters, result.reported) == ((1, 0, 2), 3, 0)
