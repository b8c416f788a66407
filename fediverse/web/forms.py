"""HTML forms: the CSRF token every form carries, and the cookie session it lives in.

The session is Quart's signed cookie (key: the instance secret in the database),
`SameSite=Lax`, `HttpOnly`, and `Secure` outside demo mode. Each browser gets one
random token in its session; every POST form sends it back in `csrf_token`, and a
form without the right one changes nothing (400). A form on another site cannot
read the token, so it cannot forge a vote, a comment or an admin action.
"""

from __future__ import annotations

import hmac
import secrets

from quart import request, session
from werkzeug.datastructures import MultiDict

from ..i18n import gettext as _

CSRF_FIELD = "csrf_token"


class FormError(Exception):
    """A form that cannot be accepted as sent; the message is for the visitor."""

    http_status = 400

    def __init__(self, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status


def csrf_token() -> str:
    """This browser's token, made on first use (forms call it while rendering)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def checked_form() -> MultiDict[str, str]:
    """The posted form, once its CSRF token matches this browser's session."""
    form = await request.form
    expected = session.get("csrf")
    sent = form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(),
                                                                expected.encode()):
        raise FormError(_("This form has expired. Please go back, reload the page and try"
                          " again."))
    return form
