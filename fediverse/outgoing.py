"""The documents we publish: our actors and the activities we send.

Pure functions from our records to AS2 dicts; `@context` declares every
extension term a document uses, because JSON-LD processors drop the rest.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from html import escape

from activitypub.vocab import PUBLIC, JsonObject, context_with

from .polls import Poll, Tally
from .storage import LocalActor
from .urls import Urls

PEILING_NS = "https://peiling.nl/ns#"  # our one extension namespace (FEDERATION.md)
QUESTION_TERMS = {
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "sensitive": "as:sensitive",
    "peiling": PEILING_NS,
    "countedAt": "peiling:countedAt",
    "nationalPoll": {"@id": "peiling:nationalPoll", "@type": "@id"},
}
ACTOR_TERMS = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
}


def actor_document(actor: LocalActor, urls: Urls, *, manually_approves: bool) -> JsonObject:
    actor_id = urls.actor(actor.username)
    return {
        "@context": context_with(ACTOR_TERMS),
        "id": actor_id,
        "type": actor.actor_type,
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": actor.summary,
        "url": urls.profile(actor.username),
        "inbox": urls.inbox(actor.username),
        "outbox": urls.outbox(actor.username),
        "followers": urls.followers(actor.username),
        "following": urls.following(actor.username),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": True,
        "indexable": True,
        "publicKey": {
            "id": urls.key_id(actor.username),
            "owner": actor_id,
            "publicKeyPem": actor.public_key_pem,
        },
    }


def accept_of(follow: JsonObject, actor_id: str, urls: Urls) -> JsonObject:
    """Accept with the received Follow embedded verbatim, as Mastodon matches it."""
    return _response("Accept", follow, actor_id, urls)


def reject_of(follow: JsonObject, actor_id: str, urls: Urls) -> JsonObject:
    return _response("Reject", follow, actor_id, urls)


def _response(kind: str, follow: JsonObject, actor_id: str, urls: Urls) -> JsonObject:
    return {
        "@context": context_with(),
        "id": urls.new_activity(),
        "type": kind,
        "actor": actor_id,
        "to": [follow["actor"]],
        "object": {k: v for k, v in follow.items() if k in ("id", "type", "actor", "object")},
    }


def follow_of(actor_id: str, target: str, urls: Urls) -> JsonObject:
    return {
        "@context": context_with(),
        "id": urls.new_activity(),
        "type": "Follow",
        "actor": actor_id,
        "object": target,
        "to": [target],
    }


def undo_of(activity: JsonObject, urls: Urls) -> JsonObject:
    inner = {k: v for k, v in activity.items() if k != "@context"}
    return {
        "@context": context_with(),
        "id": urls.new_activity(),
        "type": "Undo",
        "actor": activity["actor"],
        "object": inner,
        "to": inner.get("to", []),
    }


def ordered_collection(collection_id: str, total: int,
                       items: list[JsonObject] | list[str] | None = None) -> JsonObject:
    """A collection whose size is public; its members are listed only when given."""
    document: JsonObject = {
        "@context": context_with(),
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if items is not None:
        document["orderedItems"] = items
    return document



def iso(timestamp: float) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SSZ`, the form every fediverse server parses."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def question_for(poll: Poll, tally: Tally, replies: int, urls: Urls, now: float, *,
                 national_poll: str | None = None, reveal: bool = False) -> JsonObject:
    """The poll as Mastodon renders a votable poll (mastodon-polls.md §2.5).

    `content` is never empty (Mastodon drops a Question without it), exactly one
    of oneOf/anyOf is sent, `closed` only once closed, `updated` only after a real
    edit, and counts are null while results are hidden, as Mastodon does (unless
    `reveal`: the private copy for the hub). `countedAt` stamps when the counts were
    current, so that a hub can tell a newer report from a replayed or late one.
    """
    actor_id = urls.actor(poll.local_username)
    hidden = not (poll.results_public(now) or reveal)
    content = question_html(poll, urls)
    document: JsonObject = {
        "@context": context_with(QUESTION_TERMS),
        "id": urls.poll(poll.id),
        "type": "Question",
        "attributedTo": actor_id,
        "published": iso(poll.published_at),
        "url": urls.poll(poll.id),
        "to": [PUBLIC],
        "cc": [urls.followers(poll.local_username)],
        "content": content,
        "contentMap": {"nl": content},
        "sensitive": False,
        "endTime": iso(poll.closes_at),
        "votersCount": tally.voters,
        "anyOf" if poll.multiple else "oneOf": [
            {"type": "Note", "name": name,
             "replies": {"type": "Collection", "totalItems": None if hidden else count}}
            for name, count in zip(poll.options, tally.counts, strict=True)
        ],
        "replies": {"id": urls.poll_replies(poll.id), "type": "OrderedCollection",
                    "totalItems": replies},
        "countedAt": iso_precise(now),
    }
    if national_poll is not None:
        document["nationalPoll"] = national_poll
    if not poll.is_open(now):
        document["closed"] = iso(poll.closes_at)
    if poll.edited_at is not None:
        document["updated"] = iso(poll.edited_at)
    return document


def iso_precise(timestamp: float) -> str:
    """UTC with milliseconds: two tally Updates within one second still order."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def question_html(poll: Poll, urls: Urls) -> str:
    """The post text: the proposition, the introduction and a link to the article."""
    parts = [f"<p>{escape(poll.question)}</p>"]
    if poll.introduction:
        parts.append(f"<p>{escape(poll.introduction)}</p>")
    link = escape(urls.poll(poll.id))
    parts.append(f'<p><a href="{link}">Lees het artikel en de meningen</a></p>')
    return "".join(parts)


def create_of(question: JsonObject) -> JsonObject:
    return _wrap("Create", f"{question['id']}/activity", question)


def tally_update_of(question: JsonObject, now: float) -> JsonObject:
    """A tally refresh: Mastodon replaces its counts and does not mark the post edited."""
    unique = uuid.uuid4().hex[:8]  # an edit and a tally in the same millisecond differ
    return _wrap("Update", f"{question['id']}#updates/{int(now * 1000)}-{unique}", question)


def private_tally_update_of(question: JsonObject, hubs: list[str], now: float) -> JsonObject:
    """The counts of a poll that hides its results, for the hubs only: no Public, no
    followers, in the activity or in the Question it carries."""
    private = {**question, "to": hubs, "cc": []}
    activity = tally_update_of(private, now)
    del activity["cc"]
    return activity


def announce_of(actor_id: str, object_id: str, followers: str, urls: Urls,
                now: float) -> JsonObject:
    """A boost, as Mastodon sends one: the object by id only, so a receiver fetches
    it from its owner and nothing the booster claims about it is believed."""
    return {
        "@context": context_with(),
        "id": urls.new_activity(),
        "type": "Announce",
        "actor": actor_id,
        "published": iso(now),
        "to": [PUBLIC],
        "cc": [followers],
        "object": object_id,
    }


def delete_of(poll: Poll, urls: Urls) -> JsonObject:
    return {
        "@context": context_with(),
        "id": f"{urls.poll(poll.id)}#delete",
        "type": "Delete",
        "actor": urls.actor(poll.local_username),
        "to": [PUBLIC],
        "cc": [urls.followers(poll.local_username)],
        "object": {"id": urls.poll(poll.id), "type": "Tombstone"},
    }


def _wrap(kind: str, activity_id: str, question: JsonObject) -> JsonObject:
    activity: JsonObject = {
        "@context": question["@context"],
        "id": activity_id,
        "type": kind,
        "actor": question["attributedTo"],
        "to": question["to"],
        "cc": question["cc"],
        "object": {k: v for k, v in question.items() if k != "@context"},
    }
    if kind == "Create":
        activity["published"] = question["published"]
    return activity
