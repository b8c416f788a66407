"""The admin blueprint and what every admin page shares: login required, no caching,
a strict content policy, 303 after a POST.

Every route under /admin except the login form needs a live session (a session
row in the database, found by the token in the signed cookie). Answers are never
cached (a shared computer's back button must not show them after logout) and
may not be framed; the content policy allows no script at all, because no admin
page needs one. (`pagepolicy` adds what every HTML page gets.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quart import Blueprint, Response, g, redirect, render_template, request, session, url_for

from activitypub.errors import NotFound

from ...accounts import session_account
from .. import services

bp = Blueprint("admin", __name__, url_prefix="/admin")

OPEN_ENDPOINTS = frozenset({"admin.login", "admin.login_post"})
SESSION_KEY = "admin"
MAX_ID = 2**63 - 1
MAX_PAGE = 10**6  # of a listing: past it `?page=` is nonsense, and its offset no cheap read
PAGE_NUMBER = re.compile(r"[0-9]{1,7}")  # ASCII digits: str.isdigit() takes "²" too
Row = TypeVar("Row")
ADMIN_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
                " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@bp.url_value_preprocessor
def check_ids(_: str | None, values: dict[str, Any] | None) -> None:
    """An id past SQLite's integer range is a 404 here, not an OverflowError in the store."""
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        raise NotFound("no such item")


@bp.before_request
async def require_login() -> Response | None:
    account = await session_account(services().store, session.get(SESSION_KEY), time.time())
    g.admin = account
    if account is None and request.endpoint not in OPEN_ENDPOINTS:
        return see_other(url_for("admin.login", next=request.path)
                         if request.method == "GET" else url_for("admin.login"))
    return None


@bp.after_request
async def protect(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = ADMIN_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def logged_in() -> bool:
    return g.get("admin") is not None


def see_other(location: str) -> Response:
    """The answer to every successful admin POST: reloading the next page posts nothing."""
    return redirect(location, 303)  # type: ignore[return-value]  # a Werkzeug Response


def local_path(candidate: str | None, default: str) -> str:
    """`candidate` if it is a path of this admin (a `next` field), else `default`:
    never a redirect to another site."""
    if (candidate and candidate.startswith("/admin/") and "//" not in candidate
            and "\\" not in candidate and candidate.isprintable() and len(candidate) < 500):
        return candidate
    return default


@dataclass(frozen=True)
class Listing(Generic[Row]):
    """One page of a long list (the moderation queue, the reports): `?page=N`."""

    rows: list[Row]
    number: int
    more: bool


async def listing(fetch: Callable[[int, int], Awaitable[list[Row]]], size: int) -> Listing[Row]:
    """The page `?page=` asks for (the first when it is missing or makes no sense),
    fetched as `fetch(limit, offset)`; one row more than a page tells if another follows."""
    asked = request.args.get("page", "")
    number = int(asked) if PAGE_NUMBER.fullmatch(asked) and 0 < int(asked) <= MAX_PAGE else 1
    rows = await fetch(size + 1, (number - 1) * size)
    return Listing(rows[:size], number, len(rows) > size)


async def page(template: str, status: int = 200, **context: object) -> Response:
    body = await render_template(template, admin=g.get("admin"), **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")
