"""The admin's part of the Store: sessions, blocks, purges that recount exactly,
reports, and the moderation queue that alone reads e-mail addresses."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fediverse.polls import PollDraft
from fediverse.storage import DuplicateError, LocalActor, Reply
from fediverse.storage.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "store.sqlite3")
    await opened.create_local_actor(LocalActor("bieb", "Bieb", "", "-", "-"), time.time())
    yield opened
    await opened.close()


async def test_sessions_expire_and_end_with_the_account(store):
    account_id = await store.create_admin("anna", "$argon2id$hash", 1000.0)
    with pytest.raises(DuplicateError):
        await store.create_admin("anna", "$argon2id$other", 1000.0)
    await store.create_admin_session("t1", account_id, 1000.0, 2000.0)
    await store.create_admin_session("t2", account_id, 1000.0, 2000.0)

    assert (await store.admin_by_session("t1", 1999.0)).username == "anna"
    assert await store.admin_by_session("t1", 2000.0) is None  # expired
    await store.end_admin_session("t1")
    assert await store.admin_by_session("t1", 1500.0) is None
    assert await store.admin_by_session("t2", 1500.0) is not None
    assert await store.delete_admin("anna")
    assert await store.admin_by_session("t2", 1500.0) is None


async def test_purging_a_domain_recounts_every_poll_exactly(store):
    """Random votes by honest and spam voters; after the purge every counter equals
    a count of the honest votes alone."""
    rng = random.Random(7)
    single = await store.create_poll("bieb", PollDraft("Een?", time.time() + 3600), 0.0)
    multiple = await store.create_poll("bieb", PollDraft(
        "Meer?", time.time() + 3600, options=("A", "B", "C"), multiple=True), 0.0)
    honest: dict[int, list[int]] = {single.id: [0, 0], multiple.id: [0, 0, 0]}
    honest_voters = {single.id: 0, multiple.id: 0}
    for i in range(120):
        domain = "spam.example" if i % 3 else f"ok{i % 5}.example"
        voter = f"https://{domain}{':8443' if i % 7 == 0 else ''}/users/{i}"
        for poll in (single, multiple):
            choices = ([rng.randrange(2)] if poll is single
                       else rng.sample(range(3), rng.randint(1, 3)))
            await store.record_vote(poll.id, voter, choices, poll is single, None, 0.0)
            if domain != "spam.example":
                honest_voters[poll.id] += 1
                for choice in choices:
                    honest[poll.id][choice] += 1

    result = await store.purge_domain("spam.example", 10.0)

    assert result.polls == (single.id, multiple.id)
    for poll in (single, multiple):
        tally = await store.tally(poll.id)
        assert list(tally.counts) == honest[poll.id]
        assert tally.voters == honest_voters[poll.id]
    assert await store.take_due_tallies(10.0) == [single.id, multiple.id]
    assert (await store.purge_domain("spam.example", 11.0)).votes == 0


async def test_purging_one_actor_keeps_its_neighbours(store):
    poll = await store.create_poll("bieb", PollDraft("Een?", time.time() + 3600), 0.0)
    for name in ("eve", "bob"):
        await store.record_vote(poll.id, f"https://m.example/users/{name}", [0], True, None, 0)
    await store.save_reply(Reply(id="https://m.example/notes/1", poll_id=poll.id,
                                 actor="https://m.example/users/eve", author_name="Eve",
                                 author_handle=None, author_url=None, content="<p>x</p>",
                                 published_at=0.0))

    result = await store.purge_actor("https://m.example/users/eve", 5.0)

    assert (result.votes, result.replies, result.polls) == (1, 1, (poll.id,))
    assert (await store.tally(poll.id)).counts == (1, 0)


async def test_blocks_are_listed_and_lifted(store):
    await store.block_actor("https://m.example/users/eve", 1.0)
    await store.block_domain("Spam.Example", 2.0)
    assert await store.is_actor_blocked("https://m.example/users/eve")
    assert not await store.is_actor_blocked("https://m.example/users/bob")
    assert await store.blocked_domains() == [("spam.example", 2.0)]
    assert await store.unblock_domain("SPAM.example")
    assert await store.unblock_actor("https://m.example/users/eve")
    assert not await store.unblock_actor("https://m.example/users/eve")
    assert await store.blocked_actors() == []


async def test_reports_are_stored_once_and_resolved(store):
    assert await store.save_report("https://m.example/f/1", "https://m.example/actor",
                                   "Spam", ("https://x/1", "https://x/2"), 1.0)
    assert not await store.save_report("https://m.example/f/1", "https://m.example/actor",
                                       "Again", (), 2.0)
    [report] = await store.reports(False, 10)
    assert report.objects == ("https://x/1", "https://x/2") and report.content == "Spam"
    assert await store.report_count(False) == 1
    assert await store.resolve_report(report.id, 3.0)
    assert not await store.resolve_report(report.id, 4.0)
    assert await store.reports(False, 10) == [] and len(await store.reports(True, 10)) == 1
    assert (await store.report_count(False), await store.report_count(True)) == (0, 1)


async def test_reports_come_newest_first_a_page_at_a_time(store):
    for n in range(5):
        await store.save_report(f"https://m.example/f/{n}", "https://m.example/actor", f"r{n}",
                                (), float(n))

    pages = [[r.content for r in await store.reports(False, 2, offset)] for offset in (0, 2, 4)]

    assert pages == [["r4", "r3"], ["r2", "r1"], ["r0"]]


async def test_only_the_staff_queue_carries_email_addresses(store):
    poll = await store.create_poll("bieb", PollDraft("Een?", time.time() + 3600), 0.0)
    reply = Reply(id="https://lib/c/1", poll_id=poll.id, actor=None, author_name="Bea",
                  author_handle=None, author_url=None, content="<p>Hoi</p>",
                  published_at=1.0, state="pending")
    await store.save_comment(reply, "bea@example.org")

    assert await store.staff_replies(None, "pending", 10) == [(reply, "bea@example.org")]
    assert await store.staff_replies(None, "pending", 10, offset=1) == []
    assert await store.staff_replies(poll.id, "visible", 10) == []
    assert await store.reply_states() == {"visible": 0, "pending": 1, "hidden": 0}
    await store.delete_poll(poll.id, 2.0)
    assert await store.staff_replies(None, None, 10) == []
