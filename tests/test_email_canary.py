"""Security.md A40: a commenter's e-mail address appears nowhere but in the staff's
own view. A canary address is given with comments (one published, one held), then
every output is fetched: pages, feed, widget, federated documents, deliveries,
JSON API, discovery documents, error pages and the application's logs."""

from __future__ import annotations

import logging
import time

from harness import FakeRemote, RunningInstance, process
from test_polls_federation import follow, new_poll, vote_from
from visitor_client import Visitor

from fediverse.lifecycle import announce
from fediverse.tallies import TallyWorker
from fediverse.tokens import hash_token

CANARY = "canary-7f3a@example.org"
LOCAL_PART = "canary-7f3a"
AS2 = "application/activity+json"
TOKEN = "canary-token-abcdefghijklmnopqrstuvwxyz0123456789"


async def test_a_commenters_address_appears_in_no_output(
        instance: RunningInstance, remote: FakeRemote, caplog):
    caplog.set_level(logging.DEBUG)
    store = instance.services.store
    # Given a follower, a vote from the fediverse and one from the page, and the canary's
    # comments: one published at once, one held for moderation
    await follow(instance, remote)
    poll = await new_poll(instance)
    held_poll = await new_poll(instance)
    await store.set_poll_moderation(poll.id, "open")
    await store.set_poll_moderation(held_poll.id, "held")
    await remote.send(vote_from(remote, instance, poll, "Eens"), instance.inbox)
    await process(instance)
    await store.create_api_token("canary", hash_token(TOKEN), time.time())
    async with Visitor(instance) as visitor:
        await visitor.vote(poll.id, 1)
        published = await visitor.comment(poll.id, "Canarie", CANARY, "Mijn adres: geheim")
        await visitor.comment(held_poll.id, "Canarie", CANARY.upper(), "Wacht op goedkeuring")
        bad_email = await visitor.comment(poll.id, "Canarie", f"<{CANARY}>", "tekst")
        [comment] = await store.replies(poll.id, "visible")
        [held] = await store.replies(held_poll.id, "pending")

        # When the tally Update and an edit Update are delivered, and everything is read
        clock = [time.time() + 3600]
        await TallyWorker(instance.services, debounce_seconds=60,
                          clock=lambda: clock[0]).run_once()
        await announce(instance.services, poll.id)
        await instance.services.delivery.run_once()
        outputs = {}
        for path, accept in [
            (f"/polls/{poll.id}", "text/html"), (f"/polls/{held_poll.id}", "text/html"),
            (f"/polls/{poll.id}", AS2), (f"/polls/{poll.id}/activity", AS2),
            (f"/polls/{poll.id}/replies", AS2),
            (comment.id.removeprefix(instance.url), AS2),
            (held.id.removeprefix(instance.url), AS2),
            (held.id.removeprefix(instance.url), "text/html"),
            (f"/polls/{poll.id}/embed", "text/html"), ("/@bieb/polls", "text/html"),
            ("/@bieb/polls.atom", "application/atom+xml"), ("/@bieb", "text/html"),
            ("/", "text/html"), ("/users/bieb", AS2), ("/users/bieb/outbox", AS2),
            ("/users/bieb/followers", AS2),
            (f"/.well-known/webfinger?resource=acct:bieb@{instance.services.settings.host}",
             "application/jrd+json"),
            ("/.well-known/nodeinfo", "application/json"), ("/nodeinfo/2.1", "application/json"),
            ("/.well-known/host-meta", "application/xrd+xml"),
            (f"/polls/{poll.id}/interact?handle=nobody", "text/html"),
            ("/polls/999", "text/html"), ("/polls/999", AS2), ("/nowhere", "text/html"),
        ]:
            status, body, _ = await visitor.get(path, Accept=accept)
            outputs[f"{accept} {path}"] = (status, body)
        for path in ("/api/v1/polls", f"/api/v1/polls/{poll.id}"):
            status, body, _ = await visitor.get(path, Authorization=f"Bearer {TOKEN}")
            outputs[f"api {path}"] = (status, body)
        outputs["bad csrf"] = await visitor.post(
            f"/polls/{poll.id}/comments", {"name": "x", "email": CANARY, "comment": "x"},
            csrf=False)
        outputs["bad e-mail refused"] = bad_email

    # Then the address was stored, for staff, and shows nowhere else
    assert published[0] == 303
    assert await store.comment_email(comment.id) == CANARY
    assert await store.comment_email(held.id) == CANARY
    assert outputs[f"{AS2} {comment.id.removeprefix(instance.url)}"][0] == 200
    assert outputs["api /api/v1/polls"][0] == 200
    assert len(remote.received) >= 2  # the tally Update and the edit Update
    texts = {name: str(answer) for name, answer in outputs.items()}
    texts.update({f"delivery {n}": r.body.decode() + str(r.headers)
                  for n, r in enumerate(remote.received)})
    texts["logs"] = caplog.text
    leaks = [name for name, text in texts.items() if LOCAL_PART in text.lower()]
    assert leaks == []
    assert "Canarie" in texts[f"{AS2} {comment.id.removeprefix(instance.url)}"]  # it was read
