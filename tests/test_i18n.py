"""One translation mechanism: Dutch by default, English on request, nothing untranslated."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fediverse.i18n import format_moment, gettext, negotiate, ngettext, use_language

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def used_msgids() -> set[str]:
    found = set()
    for folder, method in (("fediverse", "python"), ("templates", "jinja2")):
        options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, [(f"**.{'py' if method == 'python' else 'html'}", method)],
                keywords=KEYWORDS, options_map=options):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_string_has_a_dutch_translation():
    with (ROOT / "fediverse/translations/nl.po").open("rb") as handle:
        catalog = read_po(handle, locale="nl")
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    used = used_msgids()

    assert used, "the extractor found no strings at all"
    missing = sorted(m for m in used if m not in translated or not all(
        translated[m].string if isinstance(translated[m].string, tuple)
        else (translated[m].string,)))
    assert missing == [], f"run `make translations` and translate: {missing}"
    unchecked = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert unchecked == [], f"fuzzy (shown in English at runtime): {unchecked}"
    problems = [(message.id, errors) for message, errors in catalog.check() if errors]
    assert problems == []  # placeholders such as %(name)s match in both languages


@pytest.mark.parametrize(("chosen", "header", "expected"), [
    (None, "", "nl"),
    (None, "en-GB,en;q=0.9", "en"),
    (None, "de-DE,de;q=0.9", "nl"),
    (None, "fr;q=0.9,en;q=0.8,nl;q=0.95", "nl"),
    (None, "en;q=0", "nl"),
    (None, "en;q=nonsense,nl", "nl"),
    ("en", "nl", "en"),
    ("xx", "en", "en"),
    (None, "en," * 10_000, "en"),
])
def test_the_language_is_the_choice_then_the_browser_then_dutch(chosen, header, expected):
    assert negotiate(chosen, header) == expected


def test_strings_plurals_and_dates_follow_the_language():
    use_language("nl")
    assert gettext("Open polls") == "Open peilingen"
    assert ngettext("%(num)d vote", "%(num)d votes", 1) == "1 stem"
    assert ngettext("%(num)d vote", "%(num)d votes", 3) == "3 stemmen"
    summer_noon_utc, winter_noon_utc = 1_782_907_200, 1_796_126_400  # 2026-07-01, 2026-12-01
    assert format_moment(summer_noon_utc) == "1 juli 2026, 14:00"  # Dutch time, CEST
    assert format_moment(winter_noon_utc) == "1 december 2026, 13:00"  # CET
    use_language("en")
    assert gettext("Open polls") == "Open polls"
    assert format_moment(winter_noon_utc) == "December 1, 2026, 1:00\u202fPM"
    use_language("klingon")
    assert gettext("Open polls") == "Open peilingen"


async def test_pages_answer_in_the_visitors_language_and_remember_the_switch(instance):
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies of 127.0.0.1, as a browser does
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(f"{instance.url}/@bieb/polls") as response:
            dutch = await response.text()
            assert response.headers["Content-Language"] == "nl"
            assert "Accept-Language" in response.headers["Vary"]
        async with session.get(f"{instance.url}/@bieb/polls",
                               headers={"Accept-Language": "en-US,en;q=0.8"}) as response:
            english = await response.text()
        async with session.get(f"{instance.url}/@bieb/polls?lang=en") as response:
            assert response.cookies["lang"].value == "en"
        async with session.get(f"{instance.url}/@bieb/polls") as response:
            remembered = await response.text()

    assert '<html lang="nl">' in dutch and "Peilingen van" in dutch
    assert '<html lang="en">' in english and "Polls of" in english
    assert '<html lang="en">' in remembered


async def test_a_missing_page_says_so_in_the_visitors_language(instance):
    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.url}/polls/999", headers={"Accept": "text/html"}) as response:
        assert response.status == 404
        assert "Deze pagina bestaat niet (meer)." in await response.text()
    async with aiohttp.ClientSession() as session, session.get(
            f"{instance.url}/polls/999", headers={"Accept": "application/activity+json"},
    ) as response:
        assert response.status == 404
        assert response.content_type == "application/json"
