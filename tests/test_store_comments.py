"""The `Store` contract for comments and web votes (`# comments and web votes`)."""

from __future__ import annotations

import pytest
from test_store_contract import store  # noqa: F401  (the parametrized backend fixture)

from fediverse.polls import PollDraft
from fediverse.storage import Reply


def comment(poll_id: int, n: int, state: str = "pending") -> Reply:
    return Reply(id=f"https://bieb.example/polls/{poll_id}/comments/{n}", poll_id=poll_id,
                 actor=None, author_name="An", author_handle=None, author_url=None,
                 content="<p>Hallo</p>", published_at=float(n), state=state)


@pytest.fixture
async def poll_id(store) -> int:  # noqa: F811
    return (await store.create_poll("bieb", PollDraft("Vraag?", 10_000.0), 1.0)).id


async def test_a_comment_keeps_its_address_apart_from_the_reply(store, poll_id):  # noqa: F811
    await store.save_comment(comment(poll_id, 1), "an@example.org")

    [pending] = await store.replies(poll_id, "pending")
    assert pending == comment(poll_id, 1)  # a Reply has no field for the address
    assert "an@example.org" not in repr(await store.reply(pending.id))
    assert await store.comment_email(pending.id) == "an@example.org"
    assert await store.comment_email("https://m.example/notes/1") is None


async def test_an_author_is_known_once_a_comment_of_theirs_is_visible(store, poll_id):  # noqa: F811
    await store.save_comment(comment(poll_id, 1), "an@example.org")
    before = await store.has_visible_comment_by("an@example.org")

    assert await store.set_reply_state(comment(poll_id, 1).id, "visible") is True
    assert await store.set_reply_state("https://nowhere.example/1", "visible") is False
    assert before is False
    assert await store.has_visible_comment_by("an@example.org") is True
    assert await store.has_visible_comment_by("bo@example.org") is False
    assert await store.reply_count(poll_id) == 1


async def test_moderation_defaults_to_first_and_can_change(store, poll_id):  # noqa: F811
    assert await store.poll_moderation(poll_id) == "first"

    for setting in ("open", "held", "first"):
        await store.set_poll_moderation(poll_id, setting)
        assert await store.poll_moderation(poll_id) == setting


async def test_has_voted_follows_counted_votes(store, poll_id):  # noqa: F811
    voter = "urn:peiling:browser:abc"
    before = await store.has_voted(poll_id, voter)

    await store.record_vote(poll_id, voter, [0], True, None, 2.0)

    assert before is False and await store.has_voted(poll_id, voter) is True
    assert await store.voter_inboxes(poll_id) == []  # a browser is no delivery address
