"""The documents we publish: our actors and the activities we send.

Pure functions from our records to AS2 dicts; `@context` declares every
extension term a document uses, because JSON-LD processors drop the rest.
"""

from __future__ import annotations

from activitypub.vocab import JsonObject, context_with

from .storage import LocalActor
from .urls import Urls

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


def ordered_collection(collection_id: str, total: int, items: list[JsonObject] | None = None,
                       ) -> JsonObject:
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

