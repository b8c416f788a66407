"""A fake Mastodon follows the library, receives its poll, votes, replies, and
receives the tally Update and the final Update."""

from __future__ import annotations

import time

import pytest
from harness import FakeRemote, RunningInstance, process

from fediverse.incoming import InboxWorker
from fediverse.lifecycle import close_poll, publish_poll
from fediverse.polls import Poll, PollDraft
from fediverse.tallies import TallyWorker

DAY = 86400.0


async def follow(instance: RunningInstance, remote: FakeRemote) -> None:
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)
    remote.received.clear()


async def new_poll(instance: RunningInstance, **changes) -> Poll:
    draft = PollDraft(question="Bibliotheken nemen sociale media nog niet serieus.",
                      end_time=time.time() + 14 * DAY,
                      introduction="Wat vindt u?", **changes)
    return await publish_poll(instance.services, "bieb", draft)


def vote_from(remote: FakeRemote, instance: RunningInstance, poll: Poll, name: str,
              actor: str = "alice", fixture: str = "mastodon-vote.json", n: int = 1) -> dict:
    vote = remote.fixture(fixture, instance, actor=actor)
    vote["object"]["inReplyTo"] = f"{instance.url}/polls/{poll.id}"
    vote["object"]["name"] = name
    vote["id"] = f"{vote['actor']}#votes/{poll.id}{n}{name}/activity"
    vote["object"]["id"] = f"{vote['actor']}#votes/{poll.id}{n}{name}"
    return vote


async def tally_of(instance: RunningInstance, poll: Poll):
    return await instance.services.store.tally(poll.id)


async def test_followers_receive_the_poll_as_a_votable_question(instance, remote):
    await follow(instance, remote)

    poll = await new_poll(instance)
    await instance.services.delivery.run_once()

    [create] = remote.received
    assert create.verified and create.path == "/inbox"  # followers' shared inbox
    activity = create.json
    question = activity["object"]
    assert activity["type"] == "Create" and question["type"] == "Question"
    assert question["id"] == f"{instance.url}/polls/{poll.id}"
    assert question["content"].startswith("<p>Bibliotheken nemen")
    assert [o["name"] for o in question["oneOf"]] == ["Eens", "Oneens"]
    assert "anyOf" not in question and "closed" not in question and "updated" not in question
    assert question["votersCount"] == 0
    assert question["endTime"].endswith("Z")
    assert {"votersCount": "toot:votersCount"}.items() <= activity["@context"][-1].items()


async def test_mastodon_misskey_and_gotosocial_votes_count_once_each(instance, remote):
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    remote.add_actor("carol", 3)
    mastodon = vote_from(remote, instance, poll, "Eens")
    misskey = vote_from(remote, instance, poll, "Oneens", "bob", "misskey-vote.json")
    gotosocial = vote_from(remote, instance, poll, "Eens", "carol", "gotosocial-vote.json")

    statuses = [(await remote.send(v, instance.inbox))[0] for v in (mastodon, misskey)]
    statuses.append((await remote.send(gotosocial, f"{instance.url}/inbox"))[0])
    statuses.append((await remote.send(mastodon, instance.inbox))[0])  # replayed
    await process(instance)

    assert statuses == [202, 202, 202, 202]
    tally = await tally_of(instance, poll)
    assert (tally.counts, tally.voters) == ((2, 1), 3)


@pytest.mark.parametrize("name", ["eens", "Eens ", "<b>Eens</b>", "Misschien"])
async def test_a_vote_for_no_option_is_ignored_and_not_a_reply(instance, remote, name):
    poll = await new_poll(instance)

    status, _ = await remote.send(vote_from(remote, instance, poll, name), instance.inbox)
    await process(instance)

    assert status == 202
    assert (await tally_of(instance, poll)).voters == 0
    assert await instance.services.store.replies(poll.id, "visible") == []


async def test_second_vote_on_a_single_choice_poll_is_not_counted(instance, remote):
    poll = await new_poll(instance)

    await remote.send(vote_from(remote, instance, poll, "Eens"), instance.inbox)
    await remote.send(vote_from(remote, instance, poll, "Oneens", n=2), instance.inbox)
    await process(instance)

    tally = await tally_of(instance, poll)
    assert (tally.counts, tally.voters) == ((1, 0), 1)


async def test_multiple_choice_counts_each_option_once_per_voter(instance, remote):
    poll = await new_poll(instance, options=("Boeken", "Films", "Muziek"), multiple=True)

    for n, name in enumerate(["Boeken", "Muziek", "Boeken"]):
        await remote.send(vote_from(remote, instance, poll, name, n=n), instance.inbox)
    await process(instance)

    tally = await tally_of(instance, poll)
    assert (tally.counts, tally.voters) == ((1, 0, 1), 1)


async def test_votes_after_closing_are_not_counted(instance, remote):
    poll = await new_poll(instance)
    await close_poll(instance.services, poll.id)

    await remote.send(vote_from(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)

    assert (await tally_of(instance, poll)).voters == 0


async def test_vote_on_an_unknown_poll_changes_nothing(instance, remote):
    poll = await new_poll(instance)
    vote = vote_from(remote, instance, poll, "Eens")
    vote["object"]["inReplyTo"] = f"{instance.url}/polls/999"

    status, _ = await remote.send(vote, instance.inbox)
    await process(instance)

    assert status == 202
    assert (await tally_of(instance, poll)).voters == 0


async def test_tally_update_is_debounced_and_reaches_followers_and_voters(instance, remote):
    await follow(instance, remote)
    poll = await new_poll(instance)
    await instance.services.delivery.run_once()
    remote.received.clear()
    now = [time.time()]
    worker = TallyWorker(instance.services, debounce_seconds=60, clock=lambda: now[0])
    await remote.send(vote_from(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)

    assert await worker.run_once() == 0  # within the debounce window
    now[0] += 61
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # nothing new: no second Update
    await instance.services.delivery.run_once()

    [update] = remote.received  # follower and voter share one inbox
    question = update.json["object"]
    assert update.json["type"] == "Update" and update.verified
    assert "updated" not in question and "closed" not in question
    assert question["votersCount"] == 1
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [1, 0]


async def test_exactly_one_final_update_when_the_poll_closes(instance, remote):
    await follow(instance, remote)
    poll = await new_poll(instance)
    await remote.send(vote_from(remote, instance, poll, "Oneens"), instance.inbox)
    await process(instance)
    remote.received.clear()
    later = [poll.end_time + 30]
    worker = TallyWorker(instance.services, debounce_seconds=60, clock=lambda: later[0])

    assert await worker.run_once() == 1
    later[0] += 3600
    assert await worker.run_once() == 0
    await instance.services.delivery.run_once()

    [final] = [r for r in remote.received if r.json["type"] == "Update"]
    question = final.json["object"]
    assert question["closed"] == question["endTime"]
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [0, 1]


async def test_replies_become_the_discussion_and_can_be_edited_and_deleted(instance, remote):
    poll = await new_poll(instance)
    reply = remote.fixture("mastodon-reply.json", instance)
    reply["object"]["inReplyTo"] = f"{instance.url}/polls/{poll.id}"
    reply["object"]["content"] += '<script>alert(1)</script><a href="javascript:x">y</a>'
    update = remote.fixture("mastodon-update-note.json", instance)
    update["object"]["inReplyTo"] = reply["object"]["inReplyTo"]

    await remote.send(reply, f"{instance.url}/inbox")
    await process(instance)
    [stored] = await instance.services.store.replies(poll.id, "visible")
    assert stored.author_name == "Alice"
    assert stored.author_handle == f"@alice@{remote.host}"
    assert "mention" in stored.content and "Eens, lokaal" in stored.content
    assert "<script" not in stored.content and "javascript:" not in stored.content

    await remote.send(update, f"{instance.url}/inbox")
    await process(instance)
    [edited] = await instance.services.store.replies(poll.id, "visible")
    assert "aangepast" in edited.content

    await remote.send(remote.fixture("mastodon-delete-note.json", instance),
                      f"{instance.url}/inbox")
    await process(instance)
    assert await instance.services.store.replies(poll.id, "visible") == []
    await remote.send(reply | {"id": reply["id"] + "2"}, f"{instance.url}/inbox")  # late
    await process(instance)
    assert await instance.services.store.replies(poll.id, "visible") == []


async def test_nobody_else_can_edit_or_delete_a_reply(instance, remote):
    poll = await new_poll(instance)
    remote.add_actor("bob", 2)
    reply = remote.fixture("mastodon-reply.json", instance)
    reply["object"]["inReplyTo"] = f"{instance.url}/polls/{poll.id}"
    await remote.send(reply, f"{instance.url}/inbox")
    delete = remote.fixture("mastodon-delete-note.json", instance, actor="bob")
    delete["object"]["id"] = reply["object"]["id"]

    await remote.send(delete, f"{instance.url}/inbox")
    await InboxWorker(instance.services).run_once()

    assert len(await instance.services.store.replies(poll.id, "visible")) == 1


async def test_a_reply_shown_or_removed_owes_one_tally_update_with_the_new_count(instance,
                                                                                 remote):
    """The Question carries its replies count, so the discussion changing is a change
    of the Question (this is also how the hub hears of a copy's new comments)."""
    await follow(instance, remote)
    poll = await new_poll(instance)
    await instance.services.delivery.run_once()
    remote.received.clear()
    later = [time.time() + 61]
    worker = TallyWorker(instance.services, debounce_seconds=60, clock=lambda: later[0])
    reply = remote.fixture("mastodon-reply.json", instance)
    reply["object"]["inReplyTo"] = f"{instance.url}/polls/{poll.id}"

    await remote.send(reply, instance.inbox)
    await process(instance)
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    await remote.send(remote.fixture("mastodon-delete-note.json", instance), instance.inbox)
    await process(instance)
    later[0] += 61
    assert await worker.run_once() == 1
    await instance.services.delivery.run_once()

    counts = [r.json["object"]["replies"]["totalItems"] for r in remote.received
              if r.json["type"] == "Update"]
    assert counts == [1, 0]
