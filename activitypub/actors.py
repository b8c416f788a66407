"""Reading remote actor documents: the few fields we rely on, checked.

A fetched actor is trusted only for what it can prove: a key counts only when
it names the actor as `owner` and lives on the actor's host, and the inboxes
must be on the actor's host too, so a forged document cannot aim our
deliveries elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import FetchError
from .vocab import ACTOR_TYPES, JsonObject, as_list, get_id, has_type, host_of

USERNAME = re.compile(r"[a-z0-9_]+([.-]+[a-z0-9_]+)*", re.IGNORECASE)
MAX_TEXT = 2048


@dataclass(frozen=True)
class ActorInfo:
    id: str
    inbox: str
    shared_inbox: str | None
    username: str | None
    name: str | None
    url: str | None
    keys: dict[str, str]  # key id -> public key PEM


def parse_actor(doc: JsonObject) -> ActorInfo:
    """The parts of an actor document we use; FetchError when it is not one."""
    actor_id = get_id(doc)
    if not actor_id or not has_type(doc, *ACTOR_TYPES):
        raise FetchError("document is not an actor")
    inbox = _same_host_url(doc.get("inbox"), actor_id)
    if inbox is None:
        raise FetchError("actor has no inbox on its own host")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    return ActorInfo(
        id=actor_id,
        inbox=inbox,
        shared_inbox=_same_host_url(shared or doc.get("sharedInbox"), actor_id),
        username=_username(doc.get("preferredUsername")),
        name=_text(doc.get("name")),
        url=_same_host_url(doc.get("url"), actor_id),
        keys=owned_keys(doc, actor_id),
    )


def owned_keys(doc: JsonObject, owner: str) -> dict[str, str]:
    """Keys embedded in `doc` that provably belong to `owner`."""
    keys: dict[str, str] = {}
    for entry in as_list(doc.get("publicKey"))[:10]:
        if not isinstance(entry, dict):
            continue
        key_id, pem = entry.get("id"), entry.get("publicKeyPem")
        if not isinstance(key_id, str) or not isinstance(pem, str):
            continue
        if entry.get("owner") == owner and host_of(key_id) == host_of(owner):
            keys[key_id] = pem
    return keys


def _same_host_url(value: Any, actor_id: str) -> str | None:
    url = get_id(value) if not isinstance(value, list) else None
    if url and url.startswith(("https://", "http://")) and host_of(url) == host_of(actor_id):
        return url
    return None


def _username(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_TEXT and USERNAME.fullmatch(value):
        return value
    return None


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None
