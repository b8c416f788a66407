"""Logging in and out of the admin, and its start page.

A failed login says only that the name or the password is wrong, and after too
many failures (per account name, per address: `login_limit`) that it is time
to wait; neither tells whether an account exists. A successful login gets a
fresh CSRF token too, so a token planted before the login is worth nothing.
"""

from __future__ import annotations

import secrets
import time

from quart import Response, request, session, url_for

from ...accounts import LoginRefused, log_in, log_out
from ...i18n import gettext as _
from ...i18n import ngettext
from ...login_limit import LoginLimit
from .. import per_app, services
from ..forms import checked_form
from ..visitors import client_address
from .base import SESSION_KEY, bp, local_path, logged_in, page, see_other

MAX_FIELD = 1024


@bp.get("/login")
async def login() -> Response:
    if logged_in():
        return see_other(url_for("admin.dashboard"))
    return await page("admin/login.html", next=local_path(request.args.get("next"), ""))


@bp.post("/login")
async def login_post() -> Response:
    form = await checked_form()
    username = form.get("username", "").strip().lower()[:MAX_FIELD]
    password = form.get("password", "")[:MAX_FIELD + 1]
    target = local_path(form.get("next"), url_for("admin.dashboard"))
    s = services()
    try:
        token = await log_in(s.store, login_limit(), username, password,
                             client_address(), time.time(),
                             s.settings.admin_session_hours * 3600)
    except LoginRefused as refused:
        return await _refused(refused, username, target)
    session[SESSION_KEY] = token
    session["csrf"] = secrets.token_urlsafe(32)
    return see_other(target)


@bp.post("/logout")
async def logout() -> Response:
    await checked_form()
    await log_out(services().store, session.pop(SESSION_KEY, None))
    session["csrf"] = secrets.token_urlsafe(32)
    return see_other(url_for("admin.login"))


@bp.get("/")
async def dashboard() -> Response:
    s = services()
    actors = await s.store.local_actors()
    return await page(
        "admin/dashboard.html",
        polls=sum([len(await s.store.polls(a.username)) for a in actors]),
        replies=await s.store.reply_states(), reports=await s.store.report_count(False),
        followers=sum([await s.store.follower_count(a.username) for a in actors]),
        deliveries=await s.store.delivery_counts())


async def _refused(refused: LoginRefused, username: str, target: str) -> Response:
    if refused.retry_after is not None:
        response = await page("admin/login.html", 429, error=wait_message(refused.retry_after),
                              username=username, next=target)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    return await page("admin/login.html", 401,
                      error=_("The username or the password is wrong."),
                      username=username, next=target)


def wait_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return ngettext("Too many failed logins. Wait %(num)d minute and try again.",
                    "Too many failed logins. Wait %(num)d minutes and try again.", minutes)


def login_limit() -> LoginLimit:
    """One limit per app, made on first use (like the inbox budget); password
    changes count against it too."""
    return per_app("login-limit", LoginLimit)
