"""WebFinger (RFC 7033) for acct: handles: parsing, our JRD, and lookups.

Mastodon does a WebFinger lookup for every new actor before it accepts
anything from it, so serving this right is a precondition for federating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MalformedError
from .vocab import AS2_CONTENT_TYPE, JsonObject

JRD_CONTENT_TYPE = "application/jrd+json"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
PROFILE_REL = "http://webfinger.net/rel/profile-page"
SELF_TYPES = frozenset(
    {
        AS2_CONTENT_TYPE,
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    }
)
_HANDLE = re.compile(r"@?(?P<user>[^@\s/]+)@(?P<domain>[^@\s/]+)")


@dataclass(frozen=True)
class Handle:
    user: str
    domain: str  # host, with port when there is one

    def __str__(self) -> str:
        return f"{self.user}@{self.domain}"


def parse_handle(text: str) -> Handle:
    """`@user@domain`, `user@domain` or `acct:user@domain`."""
    value = text.strip()
    if value.lower().startswith("acct:"):
        value = value[5:]
    match = _HANDLE.fullmatch(value)
    if not match:
        raise MalformedError(f"not a fediverse handle: {text!r}")
    return Handle(match["user"], match["domain"].lower())


def jrd_for(handle: Handle, actor_id: str, profile_url: str) -> JsonObject:
    """Our JRD: the self link Mastodon requires plus the HTML profile."""
    return {
        "subject": f"acct:{handle}",
        "aliases": [actor_id, profile_url],
        "links": [
            {"rel": PROFILE_REL, "type": "text/html", "href": profile_url},
            {"rel": "self", "type": AS2_CONTENT_TYPE, "href": actor_id},
        ],
    }


def self_link(jrd: JsonObject) -> str | None:
    """The ActivityPub actor id a JRD points at, if it has one."""
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in SELF_TYPES
            and isinstance(link.get("href"), str)
        ):
            return str(link["href"])
    return None


def lookup_url(handle: Handle, scheme: str = "https") -> str:
    return f"{scheme}://{handle.domain}/.well-known/webfinger?resource=acct:{handle}"


def subscribe_template(jrd: JsonObject) -> str | None:
    """The remote-interaction URL template (`{uri}` stands for the object), if any:
    Mastodon, Misskey and others open it to let their user answer a remote post."""
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == SUBSCRIBE_REL
            and isinstance(link.get("template"), str)
            and "{uri}" in link["template"]
        ):
            return str(link["template"])
    return None
