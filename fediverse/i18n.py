"""One translation mechanism for every string a person reads: gettext catalogues.

The source strings (msgids) are English; `translations/<lang>.po` holds the
other languages. Dutch is the default: a visitor who states no preference, or
one we have no catalogue for, reads Dutch. The `.po` files are compiled in
memory when the module loads, so there is no build step and no `.mo` file to
forget. `tests/test_i18n.py` checks that every string in the code and the
templates has a Dutch translation.
"""

from __future__ import annotations

import contextvars
import gettext as gettext_module
import io
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
TIMEZONE = ZoneInfo("Europe/Amsterdam")  # Dutch libraries, Dutch wall-clock times

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language",
                                                                default=DEFAULT_LANGUAGE)


def _load(language: str) -> gettext_module.NullTranslations:
    if language == "en":
        return gettext_module.NullTranslations()  # the msgids are the English text
    source = resources.files(__package__).joinpath("translations", f"{language}.po")
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


_CATALOGUES = {language: _load(language) for language in LANGUAGES}


def current_language() -> str:
    return _language.get()


def use_language(language: str) -> contextvars.Token[str]:
    """Set the language of the current request (or task); unknown ones mean Dutch."""
    return _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def gettext(message: str, **values: object) -> str:
    translated = _CATALOGUES[_language.get()].gettext(message)
    return translated % values if values else translated


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    translated = _CATALOGUES[_language.get()].ngettext(singular, plural, n)
    return translated % {"num": n, **values}


def negotiate(chosen: str | None, accept_language: str) -> str:
    """The language to answer in: an explicit choice (the switch), else the first
    supported language of `Accept-Language` by quality, else Dutch."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-", 1)[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def format_moment(timestamp: float) -> str:
    """A date and time as a reader of the current language writes it, in Dutch
    time: "27 november 2026, 14:05" or "November 27, 2026, 2:05 PM"."""
    moment = datetime.fromtimestamp(timestamp, TIMEZONE)
    language = _language.get()
    return (f"{format_date(moment, 'long', locale=language)},"
            f" {format_time(moment, 'short', locale=language)}")
