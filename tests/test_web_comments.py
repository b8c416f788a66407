"""Comments written on the poll page: moderation rule, escaping, limits, and the
Notes that show them to fediverse readers."""

from __future__ import annotations

import html
import json
import re

from harness import RunningInstance, start_instance
from test_polls_federation import new_poll
from visitor_client import Visitor

AS2 = "application/activity+json"


async def stored(instance: RunningInstance, poll_id: int) -> dict[str, list[str]]:
    store = instance.services.store
    return {state: [r.author_name for r in await store.replies(poll_id, state)]
            for state in ("visible", "pending", "hidden")}


async def test_in_an_open_poll_a_comment_appears_at_once(instance):
    poll = await new_poll(instance)
    await instance.services.store.set_poll_moderation(poll.id, "open")

    async with Visitor(instance) as visitor:
        status, _, headers = await visitor.comment(poll.id, "Jan de Lezer", "jan@example.org",
                                                   "Eerste regel\nTweede regel\n\nNieuwe alinea")
        _, page, _ = await visitor.get(f"/polls/{poll.id}")

    assert status == 303 and headers["Location"].startswith(f"/polls/{poll.id}#comment-")
    assert "Bedankt: uw reactie is geplaatst." in page
    assert "Reacties (1)" in page and "Jan de Lezer" in page
    assert "<p>Eerste regel<br>Tweede regel</p><p>Nieuwe alinea</p>" in page
    assert "jan@example.org" not in page and "jan@" not in page


async def test_in_a_first_poll_the_first_comment_waits_for_approval(instance):
    poll = await new_poll(instance)  # 'first' is the default
    store = instance.services.store

    async with Visitor(instance) as visitor:
        await visitor.comment(poll.id, "An", "an@example.org", "Eerste reactie")
        _, held_page, _ = await visitor.get(f"/polls/{poll.id}")
        [pending] = await store.replies(poll.id, "pending")
        assert await store.set_reply_state(pending.id, "visible")
        await visitor.comment(poll.id, "An", " AN@Example.org ", "Tweede reactie")
        _, page, _ = await visitor.get(f"/polls/{poll.id}")

    assert await store.poll_moderation(poll.id) == "first"
    assert "zodra de bibliotheek haar heeft gelezen" in held_page
    assert "Eerste reactie" not in held_page and "Reacties (0)" in held_page
    assert "Eerste reactie" in page and "Tweede reactie" in page  # known author: at once
    assert await stored(instance, poll.id) == {"visible": ["An", "An"], "pending": [],
                                               "hidden": []}
    assert await store.comment_email(pending.id) == "an@example.org"  # staff's own view


async def test_in_a_held_poll_every_comment_waits(instance):
    poll = await new_poll(instance)
    other = await new_poll(instance)
    store = instance.services.store
    await store.set_poll_moderation(poll.id, "held")
    async with Visitor(instance) as visitor:
        await visitor.comment(other.id, "Bo", "bo@example.org", "Elders")
        [earlier] = await store.replies(other.id, "pending")
        await store.set_reply_state(earlier.id, "visible")

        await visitor.comment(poll.id, "Bo", "bo@example.org", "Hier")

    assert (await stored(instance, poll.id))["pending"] == ["Bo"]


async def test_markup_in_a_comment_is_shown_as_text_and_links_are_not_active(instance):
    poll = await new_poll(instance)
    await instance.services.store.set_poll_moderation(poll.id, "open")
    hostile = ('<script>alert(1)</script><img src=x onerror=alert(2)> '
               '<a href="javascript:alert(3)">klik</a> https://spam.example/')

    async with Visitor(instance) as visitor:
        await visitor.comment(poll.id, '<b onmouseover="x()">Mallory</b>', "m@example.org",
                              hostile)
        _, page, _ = await visitor.get(f"/polls/{poll.id}")

    discussion = page.split('id="replies-title"', 1)[1].split('id="comment-form-title"', 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in discussion
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;Mallory&lt;/b&gt;" in discussion
    assert "<script" not in discussion and "<img" not in discussion and "<b " not in discussion
    assert "https://spam.example/" in discussion and 'href="https://spam' not in discussion
    assert not re.search(r"<a [^>]*javascript", page)


async def test_bad_comments_change_nothing(instance):
    poll = await new_poll(instance)
    await instance.services.store.set_poll_moderation(poll.id, "open")
    cases = {
        "no name": ("", "a@example.org", "tekst"),
        "long name": ("N" * 81, "a@example.org", "tekst"),
        "no e-mail": ("An", "", "tekst"),
        "bad e-mail": ("An", "geen-adres", "tekst"),
        "e-mail with markup": ("An", "<a@example.org>", "tekst"),
        "long e-mail": ("An", "a" * 250 + "@example.org", "tekst"),
        "no comment": ("An", "a@example.org", "   \n "),
        "long comment": ("An", "a@example.org", "x" * 3001),
    }
    async with Visitor(instance) as visitor:
        answers = {name: await visitor.comment(poll.id, *fields)
                   for name, fields in cases.items()}
        no_csrf = await visitor.post(f"/polls/{poll.id}/comments",
                                     {"name": "An", "email": "a@example.org", "comment": "x"},
                                     csrf=False)
        still, _, _ = await visitor.get(f"/polls/{poll.id}")

    assert {n: s for n, (s, _, _) in answers.items()} == dict.fromkeys(cases, 422)
    assert all(h["Cache-Control"] == "no-store" for _, _, h in answers.values())
    assert "Schrijf een reactie van hoogstens 3000 tekens." in answers["long comment"][1]
    assert no_csrf[0] == 400 and still == 200
    assert await stored(instance, poll.id) == {"visible": [], "pending": [], "hidden": []}


async def test_a_refused_comment_comes_back_with_what_was_typed(instance):
    # Given a visitor who wrote a long comment but forgot their name
    poll = await new_poll(instance)
    text = "Ik kom elke week.\nDe bibliotheek is <b>mijn</b> tweede huiskamer. " * 20
    async with Visitor(instance) as visitor:
        # When they send it
        status, page, _ = await visitor.comment(poll.id, "", "an@example.org", text)

    # Then the page says why, and the form still holds the comment (as text, never
    # markup) but not the address, which appears in no output (A40)
    form = page.split('id="comment-form"', 1)[1].split("</form>", 1)[0]
    assert status == 422
    assert "Vul een naam in van hoogstens 80 tekens." in page
    assert ">" + html.escape(text, quote=False) + "</textarea>" in form
    assert "an@example.org" not in page
    assert "<b>mijn</b>" not in page


async def test_a_refused_comment_of_a_megabyte_is_not_echoed_whole(instance):
    # Given a comment far past the limit
    poll = await new_poll(instance)
    async with Visitor(instance) as visitor:
        # When it is sent
        status, page, _ = await visitor.comment(poll.id, "An", "an@example.org", "x" * 900_000)

    # Then it is refused, and what comes back is cut to twice the limit
    assert status == 422
    assert "x" * 6000 in page and "x" * 6001 not in page


async def test_a_flood_of_comments_from_one_address_is_cut_off(tmp_path):
    instance = await start_instance(tmp_path, comments_per_ip_per_hour=2)
    try:
        poll = await new_poll(instance)
        async with Visitor(instance) as visitor:
            statuses = [(await visitor.comment(poll.id, "An", "a@example.org", f"nr {n}"))[0]
                        for n in range(4)]
        count = len(await instance.services.store.replies(poll.id, "pending"))
    finally:
        await instance.stop()

    assert statuses == [303, 303, 429, 429]
    assert count == 2


async def test_a_visible_comment_is_a_note_by_the_library_in_the_replies(instance):
    poll = await new_poll(instance)
    store = instance.services.store
    await store.set_poll_moderation(poll.id, "open")
    async with Visitor(instance) as visitor:
        await visitor.comment(poll.id, "Jan <de> Lezer", "jan@example.org", "Mooi & goed")
        [comment] = await store.replies(poll.id, "visible")
        await store.set_poll_moderation(poll.id, "held")
        await visitor.comment(poll.id, "Piet", "piet@example.org", "Nog niet zichtbaar")
        [held] = await store.replies(poll.id, "pending")
        path = comment.id.removeprefix(instance.url)
        status, body, _ = await visitor.get(path, Accept=AS2)
        held_status, _, _ = await visitor.get(held.id.removeprefix(instance.url), Accept=AS2)
        browser_status, _, headers = await visitor.get(path, Accept="text/html")
        _, collection, _ = await visitor.get(f"/polls/{poll.id}/replies", Accept=AS2)
        _, question, _ = await visitor.get(f"/polls/{poll.id}", Accept=AS2)

    note = json.loads(body)
    assert status == 200 and note["type"] == "Note" and note["id"] == comment.id
    assert note["attributedTo"] == instance.actor_id
    assert note["inReplyTo"] == f"{instance.url}/polls/{poll.id}"
    assert note["content"].startswith("<p>Reactie van Jan &lt;de&gt; Lezer op de website:</p>")
    assert "<p>Mooi &amp; goed</p>" in note["content"]
    assert "jan@example.org" not in body
    assert held_status == 404
    assert browser_status == 302 and headers["Location"].endswith(
        f"/polls/{poll.id}#comment-{comment.id.rsplit('/', 1)[-1]}")
    assert json.loads(collection)["orderedItems"] == [comment.id]
    assert json.loads(question)["replies"]["totalItems"] == 1
