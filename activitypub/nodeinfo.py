"""NodeInfo 2.1: how crawlers and instance lists learn what software this is."""

from __future__ import annotations

from .vocab import JsonObject

SCHEMA_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
CONTENT_TYPE_21 = f'application/json; profile="{SCHEMA_21}#"'


def discovery(document_url: str) -> JsonObject:
    """The /.well-known/nodeinfo document pointing at the 2.1 document."""
    return {"links": [{"rel": SCHEMA_21, "href": document_url}]}


def document(
    *,
    software: str,
    version: str,
    homepage: str,
    users: int,
    local_posts: int,
    open_registrations: bool,
    metadata: JsonObject,
) -> JsonObject:
    return {
        "version": "2.1",
        "software": {"name": software, "version": version, "homepage": homepage},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {"total": users, "activeMonth": users, "activeHalfyear": users},
            "localPosts": local_posts,
        },
        "metadata": metadata,
    }
