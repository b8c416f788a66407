"""Each request is answered in one language: the visitor's switch, else the browser's.

`?lang=en` (the switch on every page) sets a cookie for a year; without it the
cookie, then `Accept-Language`, decide; Dutch is the default. Templates get `_`,
`ngettext`, the current language, switch links and the `moment` filter.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Quart, Response, request

from ..i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    current_language,
    format_moment,
    gettext,
    negotiate,
    ngettext,
    use_language,
)

COOKIE = "lang"
COOKIE_SECONDS = 365 * 86400


def install(app: Quart, *, secure_cookies: bool) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext, ngettext, newstyle=True)
    app.add_template_filter(format_moment, "moment")

    @app.before_request
    async def choose_language() -> None:
        use_language(negotiate(request.args.get(COOKIE) or request.cookies.get(COOKIE),
                               request.headers.get("Accept-Language", "")))

    @app.after_request
    async def remember_language(response: Response) -> Response:
        if request.args.get(COOKIE) in LANGUAGES:
            response.set_cookie(COOKIE, current_language(), max_age=COOKIE_SECONDS,
                                samesite="Lax", secure=secure_cookies, httponly=True)
        if response.mimetype == "text/html":
            response.vary.update(("Accept-Language", "Cookie"))
            response.content_language.add(current_language())
        return response

    @app.context_processor
    async def language_links() -> dict[str, object]:
        return {"language": current_language(), "language_links": _switch_links()}


def _switch_links() -> list[tuple[str, str, str]]:
    """(code, name, url) for each language: this page with `?lang=` set."""
    query = {k: v for k, v in request.args.items() if k != COOKIE}
    return [(code, LANGUAGE_NAMES[code], f"{request.path}?{urlencode({**query, COOKIE: code})}")
            for code in LANGUAGES]
