"""Security headers of every HTML page: a Content-Security-Policy and framing rules.

Pages may be framed by our own pages only (`frame-ancestors 'self'`, and
`X-Frame-Options` for browsers without CSP 3), against clickjacking a vote or an
admin button. The embeddable widget is the one exception: a library puts it
on its own website, so it says `frame-ancestors *` (and it holds no form that
changes anything; see `syndication`).
"""

from __future__ import annotations

from quart import Blueprint, Response

# Behind nh3 and autoescaping (security.md A23): markup that slipped through still
# could not run inline script, load plugins or re-base the page's links.
POLICY = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none';"
          " style-src 'self' 'unsafe-inline'; img-src 'self' https:; form-action 'self'")
FRAMEABLE = f"{POLICY}; frame-ancestors *"
NOT_FRAMEABLE = f"{POLICY}; frame-ancestors 'self'"

bp = Blueprint("pagepolicy", __name__)


def frameable(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = FRAMEABLE
    return response


@bp.after_app_request
async def page_headers(response: Response) -> Response:
    if response.mimetype != "text/html":
        return response
    policy = response.headers.get("Content-Security-Policy")
    if policy is None:
        response.headers["Content-Security-Policy"] = NOT_FRAMEABLE
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'self'"
    if "frame-ancestors *" not in response.headers["Content-Security-Policy"]:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
