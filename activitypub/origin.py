"""Origin rules: what an actor may speak for.

A valid signature proves who sent an activity, not that its contents are
theirs. An actor may only create, change or delete objects on its own host and
attributed to itself; this is Mastodon's `invalid_origin?` and the rule whose
absence gave Lemmy and NodeBB their spoofing bugs.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from .errors import MalformedError, OriginError
from .vocab import JsonObject, as_list, domain_of, get_id, host_of

MAX_OBJECTS = 20
OWN_OBJECT_TYPES = frozenset({"Create", "Update", "Delete", "Undo"})


def check_activity(activity: JsonObject) -> str:
    """Validate the envelope; returns the actor id. MalformedError when unusable."""
    activity_id, actor = get_id(activity), get_id(activity.get("actor"))
    if not _is_http_url(activity_id):
        raise MalformedError("activity needs an http(s) id")
    if not isinstance(activity.get("type"), str) or not _is_storable(activity["type"]):
        raise MalformedError("activity needs a single type")
    if not _is_http_url(actor):
        raise MalformedError("activity needs an http(s) actor")
    if host_of(activity_id) != host_of(actor):
        raise OriginError("activity id is not on the actor's host")
    return actor


def check_origin(activity: JsonObject, actor: str) -> None:
    """Objects the actor creates, changes, deletes or undoes must be its own; only
    the followed actor answers a Follow; a boost names others' objects by id only."""
    if activity["type"] in ("Accept", "Reject"):
        _check_answer(activity, actor)
        return
    if activity["type"] == "Announce":
        _check_boost(activity, actor)
        return
    if activity["type"] not in OWN_OBJECT_TYPES:
        return
    objects = as_list(activity.get("object"))
    if not objects:
        raise MalformedError(f"{activity['type']} needs an object")
    if len(objects) > MAX_OBJECTS:
        raise MalformedError(f"at most {MAX_OBJECTS} objects in one activity")
    for obj in objects:
        _check_owned(obj, actor)


def _check_owned(obj: Any, actor: str) -> None:
    object_id = get_id(obj)
    if not object_id:
        raise MalformedError("object needs an id")
    if _host(object_id) != host_of(actor):
        raise OriginError("object is not on the actor's host")
    if not isinstance(obj, dict):
        return
    for field in ("attributedTo", "actor"):
        claimed = [get_id(a) for a in as_list(obj.get(field))]
        if claimed and claimed != [actor]:
            raise OriginError(f"object {field} is not the signing actor")


def _check_answer(activity: JsonObject, actor: str) -> None:
    """An embedded Follow can be accepted or rejected only by the actor it follows
    (a forged Accept from a third party, security.md A42)."""
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("type") == "Follow" \
            and get_id(inner.get("object")) != actor:
        raise OriginError("only the followed actor can answer a Follow")


def _check_boost(activity: JsonObject, actor: str) -> None:
    """A boost of someone else's object carries its id, as Mastodon sends it; an
    embedded copy of another host's object (with counts of its own making, say) is
    refused rather than believed."""
    for obj in as_list(activity.get("object")):
        if isinstance(obj, dict) and set(obj) - {"id", "type"} \
                and _host(get_id(obj) or "") != host_of(actor):
            raise OriginError("an Announce may embed only the announcer's own objects")


def _is_http_url(value: str | None) -> TypeGuard[str]:
    """An http(s) URL with a host that urlsplit can read and SQLite can store.

    The id, actor and type are stored in columns of their own; `http://[x` makes
    urlsplit raise ValueError and a lone surrogate (`"\\ud800"` is valid JSON)
    makes SQLite raise, and either would otherwise be a 500 instead of a 400.
    """
    if not value or not value.startswith(("https://", "http://")) or not _is_storable(value):
        return False
    try:
        return bool(domain_of(value))
    except ValueError:
        return False


def _is_storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _host(url: str) -> str:
    """host_of for an object id, which no check above has read yet (`http://[x`)."""
    try:
        return host_of(url)
    except ValueError as exc:
        raise MalformedError("object id is not a URL") from exc
