"""Who sent this inbox POST? Authenticate before reading any meaning.

Order matters: every check that needs no network runs first, the key's host
must be the actor's before we fetch anything (so a forged `actor` never makes
us fetch a third party's key), and only a verified signature by a key the
actor owns gets the activity stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from activitypub import httpsig
from activitypub.errors import FetchError, Forbidden, SignatureError
from activitypub.jsonparse import parse_object
from activitypub.keys import load_public_key
from activitypub.origin import check_activity, check_origin
from activitypub.vocab import JsonObject, domain_of, get_id, host_of

from .directory import ActorDirectory
from .storage import RemoteActor, Store


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target: str  # path with query string
    headers: Mapping[str, str]
    body: bytes


class UnknownActorDelete(Exception):
    """A Delete of an actor we never knew: acknowledge without fetching (it is gone)."""


async def authenticate(
    request: SignedRequest, *, store: Store, directory: ActorDirectory,
    expected_host: str, now: datetime, window: timedelta,
) -> tuple[RemoteActor, JsonObject]:
    """The verified sender and the activity, or an ActivityPubError saying why not."""
    params = httpsig.check_request(
        request.method, request.target, request.headers, request.body,
        expected_host=expected_host, now=now, window=window,
    )
    activity = parse_object(request.body)
    actor_id = check_activity(activity)
    if _key_host(params.key_id) != host_of(actor_id):
        raise SignatureError("key is not on the actor's host")
    if await store.is_blocked(domain_of(actor_id)):
        raise Forbidden("domain is blocked")
    if await store.is_actor_blocked(actor_id):
        raise Forbidden("actor is blocked")
    if await store.is_tombstoned(actor_id):
        raise SignatureError("actor was deleted")
    if _is_self_delete(activity) and await store.remote_actor(actor_id) is None:
        raise UnknownActorDelete(actor_id)
    actor = await _verified_signer(request, params, directory)
    if actor.id != actor_id:
        raise SignatureError("signing key is not owned by the activity's actor")
    check_origin(activity, actor_id)
    return actor, activity


async def _verified_signer(
    request: SignedRequest, params: httpsig.SignatureParams, directory: ActorDirectory,
) -> RemoteActor:
    """Verify with the cached key; on failure refetch once (key rotation)."""
    refresh = False
    while True:
        try:
            actor = await directory.by_key(params.key_id, refresh=refresh)
        except FetchError as exc:
            raise SignatureError(f"could not fetch the signing key: {exc}") from exc
        try:
            httpsig.verify(params, request.method, request.target, request.headers,
                           load_public_key(actor.public_key_pem))
            return actor
        except SignatureError:
            if refresh:
                raise
            refresh = True


def _is_self_delete(activity: JsonObject) -> bool:
    return activity.get("type") == "Delete" and get_id(activity.get("object")) == get_id(
        activity.get("actor"))


def _key_host(key_id: str) -> str:
    """keyId is any text the sender chose: `http://[x` makes urlsplit raise ValueError."""
    try:
        return host_of(key_id)
    except ValueError as exc:
        raise SignatureError("keyId is not a URL") from exc
