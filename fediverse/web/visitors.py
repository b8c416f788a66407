"""Who a visitor of the poll page is, as far as we can tell: a browser and an address.

The browser: a random id in its own signed cookie (`peiling_voter`, a year,
`SameSite=Lax`, `HttpOnly`, `Secure` outside demo mode), made when it first
votes. It keeps a browser from voting twice in a poll; clearing cookies or
another browser makes a new voter, so it is a guard against accidents, not
against fraud.

The address: the TCP peer, or, when that peer is the configured `trusted_proxy`,
the last address in its `X-Forwarded-For` (the one the proxy itself saw). Per
address and hour, web votes (and fediverse-account lookups) and comments have a
budget, so a script cannot flood a poll or its discussion from one machine.
Visitors behind one address (a library's public computers, a school) share it.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from quart import Response, current_app, request

from ..ratelimit import HostBudget
from . import per_app, services

VOTER_COOKIE = "peiling_voter"
VOTER_COOKIE_SECONDS = 365 * 86400
HOUR = 3600.0


def client_address() -> str:
    peer = request.remote_addr or "unknown"
    proxy = services().settings.trusted_proxy
    if proxy and peer == proxy:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:64]
    return peer


def over_budget(kind: str) -> int | None:
    """Charge one `kind` ('votes' or 'comments') to this address: None when it may
    pass, else the seconds to wait (for `Retry-After`)."""
    settings = services().settings
    per_hour = (settings.web_votes_per_ip_per_hour if kind == "votes"
                else settings.comments_per_ip_per_hour)
    budget = per_app(f"visitor-budget-{kind}", lambda: HostBudget(per_hour, period=HOUR))
    return budget.charge(client_address())


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt="peiling-voter")


def browser_id() -> str | None:
    """This browser's voter id, when it has a cookie we signed."""
    raw = request.cookies.get(VOTER_COOKIE)
    if not raw:
        return None
    try:
        found = _serializer().loads(raw)
    except BadSignature:
        return None
    return found if isinstance(found, str) and 16 <= len(found) <= 64 else None


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def remember_browser(response: Response, found: str) -> None:
    response.set_cookie(VOTER_COOKIE, _serializer().dumps(found), max_age=VOTER_COOKIE_SECONDS,
                        samesite="Lax", httponly=True,
                        secure=not services().settings.is_demo)
