"""Moderation in the admin: the comment queue, reports (Flag) from other servers,
blocks and purges with exact recounts, followers and the federation status."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from admin_client import AdminClient
from harness import FakeRemote, RunningInstance, follower_on, process

from fediverse.polls import PollDraft
from fediverse.storage import Reply
from fediverse.tallies import TallyWorker
from fediverse.web.admin import moderation

EMAIL = "canary-7f3a@example.org"


async def new_poll(instance: RunningInstance, **changes: Any) -> int:
    draft = PollDraft(question="Meer stiltewerkplekken?", end_time=time.time() + 86400,
                      options=("Eens", "Oneens", "Weet niet"), **changes)
    poll = await instance.services.store.create_poll("bieb", draft, time.time())
    return poll.id


async def local_comment(instance: RunningInstance, poll_id: int, text: str,
                        state: str = "pending", n: int = 1) -> str:
    reply = Reply(id=f"{instance.url}/polls/{poll_id}/comments/c{n}", poll_id=poll_id,
                  actor=None, author_name="Bea Bezoeker", author_handle=None, author_url=None,
                  content=f"<p>{text}</p>", published_at=time.time(), state=state)  # type: ignore[arg-type]
    await instance.services.store.save_comment(reply, EMAIL)
    return reply.id


async def public_page(staff: AdminClient, poll_id: int) -> str:
    async with staff.session.get(f"{staff.instance.url}/polls/{poll_id}") as response:
        return await response.text()


# ---------------------------------------------------------------- the comment queue


async def test_a_held_comment_is_approved_and_appears_on_the_poll_page(instance, staff):
    poll_id = await new_poll(instance)
    reply_id = await local_comment(instance, poll_id, "Graag ook op zondagochtend!")
    assert "Graag ook op zondagochtend" not in await public_page(staff, poll_id)

    status, queue, _ = await staff.get(f"/admin/moderation?poll={poll_id}")
    assert status == 200 and "Graag ook op zondagochtend" in queue
    assert EMAIL in queue  # staff see the address here, and only here

    status, _, headers = await staff.post("/admin/replies", {
        "reply_id": reply_id, "action": "approve",
        "next": f"/admin/moderation?poll={poll_id}"})
    assert status == 303 and headers["Location"] == f"/admin/moderation?poll={poll_id}"
    page = await public_page(staff, poll_id)
    assert "Graag ook op zondagochtend" in page and EMAIL not in page


async def test_a_long_queue_comes_a_page_at_a_time(instance, staff, monkeypatch):
    # Given five held comments and pages of two
    monkeypatch.setattr(moderation, "PAGE_SIZE", 2)
    poll_id = await new_poll(instance)
    ids = [await local_comment(instance, poll_id, f"Reactie nummer {n}", n=n) for n in range(5)]

    # When staff page through the queue
    pages = [(await staff.get(f"/admin/moderation?page={n}"))[1] for n in (1, 2, 3)]

    # Then each page holds the next comments, oldest first, linked to its neighbours
    assert [[n for n in range(5) if f"Reactie nummer {n}<" in page] for page in pages] == [
        [0, 1], [2, 3], [4]]
    assert ["Volgende pagina" in page for page in pages] == [True, True, False]
    assert ["Vorige pagina" in page for page in pages] == [False, True, True]
    assert 'href="/admin/moderation?page=3&amp;state=pending"' in pages[1]
    # And an action on page 2 comes back to page 2
    status, _, headers = await staff.post("/admin/replies", {
        "reply_id": ids[2], "action": "approve",
        "next": "/admin/moderation?state=pending&page=2"})
    assert status == 303 and headers["Location"] == "/admin/moderation?state=pending&page=2"


@pytest.mark.parametrize("asked", ["0", "-1", "x", "1.5", "%C2%B2", "9" * 30])
async def test_a_page_number_that_makes_no_sense_shows_the_first_page(instance, staff,
                                                                      monkeypatch, asked):
    monkeypatch.setattr(moderation, "PAGE_SIZE", 2)
    poll_id = await new_poll(instance)
    for n in range(3):
        await local_comment(instance, poll_id, f"Reactie nummer {n}", n=n)

    status, page, _ = await staff.get(f"/admin/moderation?page={asked}")

    assert status == 200
    assert "Reactie nummer 0<" in page and "Reactie nummer 2<" not in page


async def test_past_the_last_page_the_queue_is_empty_with_a_way_back(instance, staff):
    poll_id = await new_poll(instance)
    await local_comment(instance, poll_id, "De enige reactie")

    status, page, _ = await staff.get("/admin/moderation?page=7")

    assert status == 200 and "De enige reactie" not in page
    assert "Vorige pagina" in page and "Volgende pagina" not in page


async def test_hiding_and_deleting_change_the_replies_count_and_owe_an_update(instance,
                                                                              staff):
    remote = await FakeRemote().start()
    try:
        await follower_on(remote, instance)
        poll_id = await new_poll(instance)
        first = await local_comment(instance, poll_id, "Een", "visible", 1)
        second = await local_comment(instance, poll_id, "Twee", "visible", 2)
        tallies = TallyWorker(instance.services, debounce_seconds=0)
        await staff.get("/admin/moderation?state=visible")

        await staff.post("/admin/replies", {"reply_id": first, "action": "hide"})
        await staff.post("/admin/replies", {"reply_id": second, "action": "delete"})
        assert await tallies.run_once() == 1  # one Update for both changes
        await process(instance)

        assert await instance.services.store.reply_count(poll_id) == 0
        assert (await instance.services.store.reply(first)).state == "hidden"
        assert await instance.services.store.reply(second) is None
        [update] = [r.json for r in remote.received]
        assert update["type"] == "Update"
        assert update["object"]["replies"]["totalItems"] == 0
        assert EMAIL not in json.dumps(update)
    finally:
        await remote.stop()


@pytest.mark.parametrize("fields", [
    {"reply_id": "https://nowhere.example/x", "action": "approve"},
    {"reply_id": "", "action": "approve"},
    {"reply_id": "x" * 5000, "action": "hide"},
])
async def test_actions_on_unknown_replies_are_404(instance, staff, fields):
    await staff.get("/admin/moderation")
    status, _, _ = await staff.post("/admin/replies", fields, Accept="text/html")
    assert status == 404


async def test_an_unknown_action_changes_nothing(instance, staff):
    poll_id = await new_poll(instance)
    reply_id = await local_comment(instance, poll_id, "Hallo")
    await staff.get("/admin/moderation")

    status, _, _ = await staff.post("/admin/replies", {"reply_id": reply_id,
                                                       "action": "publish-everything"})

    assert status == 400
    assert (await instance.services.store.reply(reply_id)).state == "pending"


async def test_the_queue_shows_hostile_content_inert(instance, staff):
    poll_id = await new_poll(instance)
    await instance.services.store.save_reply(Reply(
        id="https://m.example/notes/1", poll_id=poll_id, actor="https://m.example/users/eve",
        author_name="<img src=x onerror=alert(1)>", author_handle="@eve@m.example",
        author_url="https://m.example/@eve", content="<p>Hallo</p>", published_at=time.time(),
        state="pending"))

    _, page, _ = await staff.get("/admin/moderation")

    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# ---------------------------------------------------------------- reports


async def test_a_flag_from_mastodon_is_stored_and_listed(instance, staff, remote):
    poll_id = await new_poll(instance)
    reporter = remote.add_actor("actor")  # Mastodon reports from its instance actor
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{remote.base}/0a9b8c7d-flag", "type": "Flag", "actor": reporter,
        "content": "Spam <b>hier</b> &amp; <script>alert(1)</script>reclame",
        "object": [instance.actor_id, f"{instance.url}/polls/{poll_id}",
                   "https://elsewhere.example/notes/9"],
    }

    status, _ = await remote.send(flag, instance.inbox)
    await process(instance)
    assert status == 202
    [report] = await instance.services.store.reports(False, 100)
    assert report.content == "Spam hier & reclame"
    assert report.objects == (instance.actor_id, f"{instance.url}/polls/{poll_id}",
                              "https://elsewhere.example/notes/9")

    _, page, _ = await staff.get("/admin/reports")
    assert "Spam hier &amp; reclame" in page and "<script>" not in page
    assert f"/admin/polls/{poll_id}/edit" in page and "Meer stiltewerkplekken?" in page
    assert "https://elsewhere.example/notes/9" in page

    status, _ = await remote.send(flag, instance.inbox)  # a retried delivery
    await process(instance)
    assert len(await instance.services.store.reports(False, 100)) == 1

    await staff.post(f"/admin/reports/{report.id}/resolve", {})
    assert await instance.services.store.reports(False, 100) == []
    assert len(await instance.services.store.reports(True, 100)) == 1


async def test_a_blocked_reporter_is_refused_before_anything_is_stored(instance, staff,
                                                                       remote):
    reporter = remote.add_actor("actor")
    await staff.get("/admin/blocks")
    await staff.post("/admin/blocks", {"target": reporter})
    flag = {"id": f"{remote.base}/flag-blocked", "type": "Flag", "actor": reporter,
            "content": "Nog eens", "object": [instance.actor_id]}

    status, _ = await remote.send(flag, instance.inbox)
    await process(instance)

    assert status == 403
    assert await instance.services.store.reports(False, 100) == []
    assert await instance.services.store.inbox_activity_count() == 0


@pytest.mark.parametrize("objects", [[], "not-a-url", [{"no": "id"}], ["x" * 3000],
                                     [f"https://a.example/{i}" for i in range(5)] * 100])
async def test_malformed_flags_store_no_report_but_bounded_ones(instance, remote, objects):
    reporter = remote.add_actor("actor")
    flag = {"id": f"{remote.base}/flag-{len(str(objects))}", "type": "Flag", "actor": reporter,
            "content": {"nested": "object"}, "object": objects}

    status, _ = await remote.send(flag, instance.inbox)
    await process(instance)

    assert status == 202
    reports = await instance.services.store.reports(False, 100)
    if isinstance(objects, list) and len(objects) == 500:
        [report] = reports  # only the distinct ids of the first 50 entries are kept
        assert len(report.objects) == 5 and report.content == ""
    else:
        assert reports == []


# ---------------------------------------------------------------- blocks and purges


async def vote_from(remote: FakeRemote, instance: RunningInstance, name: str, poll_id: int,
                    choice: str) -> int:
    actor = f"{remote.base}/users/{name}"
    vote_id = f"{actor}/votes/{poll_id}/{choice.replace(' ', '-')}"
    note = {"id": vote_id, "type": "Note", "attributedTo": actor,
            "name": choice, "inReplyTo": f"{instance.url}/polls/{poll_id}",
            "to": [instance.actor_id]}
    status, _ = await remote.send({"id": f"{vote_id}/activity", "type": "Create",
                                   "actor": actor, "object": note, "to": [instance.actor_id]},
                                  instance.inbox)
    return status


async def test_block_and_purge_a_domain_recounts_tallies_exactly(instance, staff, remote,
                                                                 bystander):
    """The Sybils live on `localhost`; alice on 127.0.0.1 is an honest voter."""
    poll_id = await new_poll(instance, multiple=True)
    for i in range(3):
        bystander.add_actor(f"sybil{i}", key_index=2)
        assert await vote_from(bystander, instance, f"sybil{i}", poll_id, "Eens") == 202
    assert await vote_from(bystander, instance, "sybil0", poll_id, "Weet niet") == 202
    assert await vote_from(remote, instance, "alice", poll_id, "Oneens") == 202
    await process(instance)
    await instance.services.store.save_reply(Reply(
        id=f"{bystander.base}/users/sybil0/notes/1", poll_id=poll_id,
        actor=f"{bystander.base}/users/sybil0", author_name="Sybil", author_handle=None,
        author_url=None, content="<p>spam</p>", published_at=time.time()))
    assert (await instance.services.store.tally(poll_id)).counts == (3, 1, 1)
    await instance.services.store.take_due_tallies(time.time())  # nothing owed before

    await staff.get("/admin/blocks")
    status, _, headers = await staff.post("/admin/blocks", {"target": " LOCALHOST ",
                                                            "purge": "1"})

    assert status == 303
    tally = await instance.services.store.tally(poll_id)
    assert tally.counts == (0, 1, 0) and tally.voters == 1
    assert await instance.services.store.reply_count(poll_id) == 0
    assert await instance.services.store.take_due_tallies(time.time()) == [poll_id]
    bystander.add_actor("sybil9", key_index=2)
    assert await vote_from(bystander, instance, "sybil9", poll_id, "Eens") == 403
    assert await vote_from(remote, instance, "alice", poll_id, "Weet niet") == 202
    _, page, _ = await staff.get(headers["Location"])
    assert "localhost" in page and "4 stemmen" in page


async def test_purged_notes_do_not_come_back_after_an_unblock(instance, staff, remote):
    # Given mallory's vote and reply, purged with a block, and the block lifted again
    poll_id = await new_poll(instance)
    remote.add_actor("mallory", key_index=2)
    actor = f"{remote.base}/users/mallory"
    assert await vote_from(remote, instance, "mallory", poll_id, "Eens") == 202
    reply = {"id": f"{actor}/notes/1", "type": "Note", "attributedTo": actor,
             "content": "<p>koop nu</p>", "inReplyTo": f"{instance.url}/polls/{poll_id}",
             "to": [instance.actor_id]}
    await remote.send({"id": f"{actor}/notes/1/activity", "type": "Create", "actor": actor,
                       "object": reply, "to": [instance.actor_id]}, instance.inbox)
    await process(instance)
    assert await instance.services.store.reply_count(poll_id) == 1
    await staff.get("/admin/blocks")
    await staff.post("/admin/blocks", {"target": actor, "purge": "1"})
    await instance.services.store.unblock_actor(actor)

    # When the same Notes arrive again under new activity ids
    note_vote = {"id": f"{actor}/votes/{poll_id}/Eens", "type": "Note", "attributedTo": actor,
                 "name": "Eens", "inReplyTo": f"{instance.url}/polls/{poll_id}",
                 "to": [instance.actor_id]}
    statuses = [(await remote.send({"id": f"{note['id']}/again", "type": "Create",
                                    "actor": actor, "object": note, "to": [instance.actor_id]},
                                   instance.inbox))[0] for note in (note_vote, reply)]
    await process(instance)

    # Then they are acknowledged and stay gone, while a new vote of mallory's counts
    assert statuses == [202, 202]
    assert (await instance.services.store.tally(poll_id)).counts == (0, 0, 0)
    assert await instance.services.store.reply_count(poll_id) == 0
    assert await vote_from(remote, instance, "mallory", poll_id, "Oneens") == 202
    await process(instance)
    assert (await instance.services.store.tally(poll_id)).counts == (0, 1, 0)


async def test_blocking_one_actor_refuses_only_that_actor(instance, staff, remote):
    poll_id = await new_poll(instance)
    remote.add_actor("mallory", key_index=2)
    assert await vote_from(remote, instance, "alice", poll_id, "Eens") == 202
    await process(instance)
    await staff.get("/admin/blocks")

    await staff.post("/admin/blocks", {"target": f"{remote.base}/users/mallory"})

    assert await vote_from(remote, instance, "mallory", poll_id, "Oneens") == 403
    assert await instance.services.store.tally(poll_id) == (
        await instance.services.store.tally(poll_id))
    assert (await instance.services.store.tally(poll_id)).counts == (1, 0, 0)

    await staff.get("/admin/blocks")
    await staff.post("/admin/blocks/remove", {"target": f"{remote.base}/users/mallory"})
    assert await vote_from(remote, instance, "mallory", poll_id, "Oneens") == 202


@pytest.mark.parametrize("target", ["", "not a domain", "https://", "http://[x/users/a",
                                    "-bad-.example", "a" * 300, "spam.example/../x",
                                    "javascript:alert(1)", "127.0.0.1:{port}", "127.0.0.1",
                                    "http://127.0.0.1:{port}/users/bieb"])
async def test_hostile_block_targets_are_refused(instance, staff, target):
    await staff.get("/admin/blocks")
    status, page, _ = await staff.post("/admin/blocks", {
        "target": target.format(port=instance.port), "purge": "1"})
    assert status == 400
    assert await instance.services.store.blocked_domains() == []
    assert await instance.services.store.blocked_actors() == []
    assert (await staff.get("/admin/blocks"))[0] == 200


# ---------------------------------------------------------------- followers and federation


async def test_a_pending_follower_is_approved_and_told(instance, staff, remote):
    follower = await follower_on(remote, instance, "carol", "pending")

    _, page, _ = await staff.get("/admin/followers")
    assert follower in page
    status, _, _ = await staff.post("/admin/followers/approve",
                                    {"username": "bieb", "actor": follower})
    await process(instance)

    assert status == 303
    assert (await instance.services.store.follower("bieb", follower)).state == "accepted"
    assert [r.json["type"] for r in remote.received] == ["Accept"]


async def test_deciding_on_an_unknown_follower_changes_nothing(instance, staff):
    await staff.get("/admin/followers")
    status, _, _ = await staff.post("/admin/followers/reject",
                                    {"username": "bieb", "actor": "https://x.example/u/1"})
    assert status == 404
    assert await instance.services.store.delivery_counts() == {
        "pending": 0, "done": 0, "failed": 0}


async def test_the_federation_page_shows_hosts_and_their_state(instance, staff):
    store = instance.services.store
    await store.add_outbox_activity("bieb", f"{instance.url}/activities/1", "Create", "{}",
                                    True, ["https://down.example/inbox",
                                           "https://up.example/inbox"], time.time())
    await store.record_host_failure("down.example", time.time() - 86400 * 4)
    await store.mark_host_unavailable("down.example", time.time())

    status, page, _ = await staff.get("/admin/federation")

    assert status == 200
    assert "down.example" in page and "up.example" in page
    assert "onbereikbaar" in page
