"""Staff change their own password (accounts are made and removed with the CLI).

The demo instances share a published password, and people reuse passwords: a
member of staff should not need shell access to replace theirs.
"""

from __future__ import annotations

import time

from quart import Response, flash, g, session, url_for

from ...accounts import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    AccountError,
    LoginRefused,
    change_own_password,
)
from ...i18n import gettext as _
from .. import services
from ..forms import checked_form
from ..visitors import client_address
from .auth import login_limit, wait_message
from .base import SESSION_KEY, bp, page, see_other


@bp.get("/account")
async def account() -> Response:
    return await page("admin/account.html", min_password=MIN_PASSWORD)


@bp.post("/account")
async def account_post() -> Response:
    form = await checked_form()
    current = form.get("current", "")
    new, repeated = form.get("new", ""), form.get("repeat", "")
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        return await _refused(_("A password needs %(min)d to %(max)d characters.",
                                min=MIN_PASSWORD, max=MAX_PASSWORD), 422)
    if new != repeated:
        return await _refused(_("The new password and its repetition differ."), 422)
    if "\ufffd" in new:  # bytes that were not UTF-8: no one could type this password again
        return await _refused(_("This password cannot be used."), 422)
    s = services()
    try:
        token = await change_own_password(
            s.store, login_limit(), g.admin, current, new, client_address(), time.time(),
            s.settings.admin_session_hours * 3600)
    except LoginRefused as refused:
        if refused.retry_after is not None:
            response = await _refused(wait_message(refused.retry_after), 429)
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        return await _refused(_("The current password is wrong."), 401)
    except AccountError:
        return await _refused(_("This password cannot be used."), 422)
    session[SESSION_KEY] = token
    await flash(_("Your password is changed. Other sessions of your account have ended."))
    return see_other(url_for("admin.account"))


async def _refused(message: str, status: int) -> Response:
    return await page("admin/account.html", status, error=message, min_password=MIN_PASSWORD)
