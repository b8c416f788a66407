"""The hub's part of the `Store` contract, run against every backend (SQLite today)."""

from __future__ import annotations

import time
from dataclasses import replace

from test_store_contract import store  # noqa: F401  # the shared backend fixture

from fediverse.polls import PollDraft
from fediverse.storage import HubReply, MirroredPoll

COPY = MirroredPoll(
    id="https://bieb.example/polls/1", library="https://bieb.example/users/bieb",
    question="Zondag open?", url="https://bieb.example/polls/1", options=("Eens", "Oneens"),
    multiple=False, public=True, counts=(2, 1), voters=3, counted_at=10.5, end_time=99.0,
    closed=False, national_poll=None, published_at=1.0, received_at=11.0)


async def test_a_mirrored_poll_round_trips_and_is_replaced_whole(store):  # noqa: F811
    await store.save_mirrored_poll(COPY)
    hidden = replace(COPY, counts=None, voters=None, closed=True, options=("Ja", "Nee"))

    assert await store.mirrored_poll(COPY.id) == COPY
    await store.save_mirrored_poll(hidden)
    assert await store.mirrored_poll(COPY.id) == hidden
    assert await store.mirrored_polls(COPY.library) == [hidden]
    assert await store.mirrored_polls("https://other.example/users/x") == []


async def test_national_copies_are_the_undeleted_ones_of_that_poll(store):  # noqa: F811
    poll = await store.create_poll("bieb", PollDraft("Landelijk?", time.time() + 3600),
                                   time.time())
    other = replace(COPY, id="https://stad.example/polls/2", library="https://stad.example/u",
                    national_poll=poll.id)
    gone = replace(other, id="https://dorp.example/polls/3")
    for mirrored in (replace(COPY, national_poll=poll.id), other, gone, replace(
            COPY, id="https://bieb.example/polls/9")):
        await store.save_mirrored_poll(mirrored)
    await store.delete_mirrored_poll(gone.id, 20.0)

    copies = await store.national_copies(poll.id)

    assert [c.id for c in copies] == [COPY.id, other.id]
    assert await store.mirrored_poll(gone.id) is None


async def test_hub_replies_are_replaced_per_copy(store):  # noqa: F811
    await store.save_mirrored_poll(COPY)
    first = HubReply("https://m.example/1", COPY.id, "Alice", None, "<p>Ja</p>", 5.0)
    second = HubReply("https://m.example/2", COPY.id, "Bob", "https://m.example/@bob",
                      "<p>Nee</p>", 4.0)

    await store.replace_hub_replies(COPY.id, [first])
    await store.replace_hub_replies(COPY.id, [first, second])

    assert await store.hub_replies([COPY.id]) == [second, first]  # oldest first
    assert await store.hub_replies(["https://other.example/polls/1"]) == []


async def test_an_adopted_poll_remembers_its_national_poll(store):  # noqa: F811
    poll = await store.create_poll("bieb", PollDraft("Kopie?", time.time() + 3600), time.time())

    assert await store.national_poll_of(poll.id) is None
    await store.link_national_poll(poll.id, "https://hub.example/polls/1")
    assert await store.national_poll_of(poll.id) == "https://hub.example/polls/1"
