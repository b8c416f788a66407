"""Origin rules: what an actor may speak for.

A valid signature proves who sent an activity, not that its contents are
theirs. An actor may only create, change or delete objects on its own host and
attributed to itself; this is Mastodon's `invalid_origin?` and the rule whose
absence gave Lemmy and NodeBB their spoofing bugs.
"""

from __future__ import annotations

from typing import Any

from .errors import MalformedError, OriginError
from .vocab import JsonObject, as_list, get_id, host_of

MAX_OBJECTS = 20
OWN_OBJECT_TYPES = frozenset({"Create", "Update", "Delete", "Undo"})


def check_activity(activity: JsonObject) -> str:
    """Validate the envelope; returns the actor id. MalformedError when unusable."""
    activity_id, actor = get_id(activity), get_id(activity.get("actor"))
    if not activity_id or not activity_id.startswith(("https://", "http://")):
        raise MalformedError("activity needs an http(s) id")
    if not isinstance(activity.get("type"), str):
        raise MalformedError("activity needs a single type")
    if not actor or not actor.startswith(("https://", "http://")):
        raise MalformedError("activity needs an http(s) actor")
    if host_of(activity_id) != host_of(actor):
        raise OriginError("activity id is not on the actor's host")
    return actor


def check_origin(activity: JsonObject, actor: str) -> None:
    """Objects the actor creates, changes, deletes or undoes must be its own."""
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
    if host_of(object_id) != host_of(actor):
        raise OriginError("object is not on the actor's host")
    if not isinstance(obj, dict):
        return
    for field in ("attributedTo", "actor"):
        claimed = [get_id(a) for a in as_list(obj.get(field))]
        if claimed and claimed != [actor]:
            raise OriginError(f"object {field} is not the signing actor")
