"""ActivityStreams 2.0 constants and the helpers for reading its loose shapes.

Peers write the same thing several ways (`to` as a string or an array, the
public address in three spellings, `object` embedded or by id); these helpers
read all of them so the rest of the code sees one shape.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

JsonObject = dict[str, Any]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

AS2_CONTENT_TYPE = "application/activity+json"
LD_PROFILE_CONTENT_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACCEPT_AS2 = f"{AS2_CONTENT_TYPE}, {LD_PROFILE_CONTENT_TYPE}"

ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

# The hosts of URLs up to this long are remembered (HOSTS_CACHED of them): an inbox
# POST asks for its actor's and key's hosts about ten times, and ids repeat across
# requests. A longer URL is split each time, so a peer's huge ids stay unremembered.
CACHED_URL_LENGTH = 512
HOSTS_CACHED = 4096
# An http(s) URL whose host and port are letters, digits, dots and hyphens, and
# whose rest is printable ASCII without spaces: urlsplit changes nothing in it
# (nothing to strip or remove, no brackets, `@` or `%` in the host, nothing
# non-ASCII to normalise), so its netloc is the text up to the first `/`, `?` or
# `#`, and its hostname that without the port. Read here, it costs a fraction of a
# SplitResult: every new activity and object id is read once.
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9.-]*)(:[0-9]*)?(?:[/?#][!-~]*)?")


def as_list(value: Any) -> list[Any]:
    """Read a property that may be absent, a single value or an array."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def get_id(value: Any) -> str | None:
    """The id of a reference that is either a bare URI or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


def is_public(audience: Any) -> bool:
    """True when `to`/`cc` names the public collection in any spelling."""
    return any(isinstance(a, str) and a in PUBLIC_ALIASES for a in as_list(audience))


def has_type(obj: Any, *types: str) -> bool:
    """True when the object's `type` (string or array) includes one of `types`."""
    if not isinstance(obj, dict):
        return False
    return any(t in types for t in as_list(obj.get("type")) if isinstance(t, str))


def host_of(url: str) -> str:
    """The lower-cased host (with port, if any) of a URL, '' when there is none."""
    return _hosts(url)[0]


def domain_of(url: str) -> str:
    """The lower-cased host name of a URL without its port: what blocks and budgets
    are kept by, so that other ports of one host count as the same server."""
    return _hosts(url)[1]


def _hosts(url: str) -> tuple[str, str]:
    """`host_of` and `domain_of` of `url`, remembered for short URLs. ValueError (from
    urlsplit: `http://[x`) is raised again on every call, never remembered."""
    return _remembered_hosts(url) if len(url) <= CACHED_URL_LENGTH else _split_hosts(url)


def _split_hosts(url: str) -> tuple[str, str]:
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        host, port = plain.group(1, 2)
        return (host + (port or "")).lower(), host.lower()
    parts = urlsplit(url)
    return parts.netloc.lower(), (parts.hostname or "").lower()


_remembered_hosts = lru_cache(maxsize=HOSTS_CACHED)(_split_hosts)


def context_with(*terms: dict[str, Any]) -> list[Any]:
    """An `@context` of the AS vocabulary plus the extension terms a document uses.

    JSON-LD processors drop undeclared terms, so every served document declares
    what it adds (`toot:votersCount`, the security vocabulary...).
    """
    extra: dict[str, Any] = {}
    for term in terms:
        extra.update(term)
    return [AS_CONTEXT, SECURITY_CONTEXT, extra] if extra else [AS_CONTEXT, SECURITY_CONTEXT]
