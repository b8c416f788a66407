"""The polls outside the poll page: Atom feed, embeddable widget, framing rules,
the index, and the way to vote from one's own fediverse account."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web
from test_polls_federation import new_poll
from visitor_client import Visitor

from fediverse.lifecycle import close_poll, publish_poll
from fediverse.polls import Poll, PollDraft

ATOM = "{http://www.w3.org/2005/Atom}"


async def poll_with(instance, question: str, introduction: str = "") -> Poll:
    return await publish_poll(instance.services, "bieb", PollDraft(
        question=question, introduction=introduction, end_time=time.time() + 86400))


async def test_the_feed_lists_the_polls_escaped_and_is_discoverable(instance):
    poll = await poll_with(instance, "Open op zondag?", "Wat <vindt> u & wij?")

    async with Visitor(instance) as visitor:
        status, body, headers = await visitor.get("/@bieb/polls.atom")
        _, index, _ = await visitor.get("/@bieb/polls")
        _, page, _ = await visitor.get(f"/polls/{poll.id}")
        missing, _, _ = await visitor.get("/@nobody/polls.atom")

    feed = ET.fromstring(body.encode())
    [entry] = feed.findall(f"{ATOM}entry")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    assert entry.findtext(f"{ATOM}title") == poll.question
    assert entry.findtext(f"{ATOM}summary") == "Wat <vindt> u & wij?"
    assert entry.find(f"{ATOM}link").get("href") == f"{instance.url}/polls/{poll.id}"
    assert "&lt;vindt&gt;" in body
    for html in (index, page):
        assert 'type="application/atom+xml"' in html and "/@bieb/polls.atom" in html
    assert missing == 404


async def test_the_index_shows_open_polls_then_closed_ones_with_their_voters(instance):
    running = await new_poll(instance)
    closed = await new_poll(instance)
    await close_poll(instance.services, closed.id)

    async with Visitor(instance) as visitor:
        await visitor.vote(running.id, 0)
        _, page, _ = await visitor.get("/@bieb/polls")

    open_part, closed_part = page.split('id="closed-title"')
    assert f"/polls/{running.id}" in open_part and f"/polls/{closed.id}" in closed_part
    assert "1 deelnemer" in open_part and "Open tot" in open_part
    assert "Deze peiling is gesloten op" in closed_part


async def test_only_the_widget_may_be_framed_by_other_sites(instance):
    poll = await new_poll(instance)

    async with Visitor(instance) as visitor:
        _, _, page_headers = await visitor.get(f"/polls/{poll.id}")
        _, _, index_headers = await visitor.get("/@bieb/polls")
        status, widget, embed_headers = await visitor.get(f"/polls/{poll.id}/embed")

    for headers in (page_headers, index_headers):
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert status == 200
    assert "frame-ancestors *" in embed_headers["Content-Security-Policy"]
    assert "script-src 'self'" in embed_headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed_headers
    assert "csrf_token" not in widget and 'method="post"' not in widget
    assert f'action="{instance.url}/polls/{poll.id}#vote" target="_blank"' in widget


async def test_the_widget_choice_arrives_preselected_and_the_page_offers_the_snippet(instance):
    poll = await poll_with(instance, 'Zeg "ja" <of> nee')

    async with Visitor(instance) as visitor:
        _, page, _ = await visitor.get(
            f"/polls/{poll.id}?choice=1&choice=\u00b2&choice=" + "9" * 5000)

    assert 'id="choice-1" value="1" required checked' in page
    assert 'id="choice-0" value="0" required>' in page
    snippet = (f'&lt;iframe src=&#34;{instance.url}/polls/{poll.id}/embed&#34; '
               'title=&#34;Zeg &amp;quot;ja&amp;quot; &amp;lt;of&amp;gt; nee&#34;')
    assert snippet in page  # pasted, it is the iframe with the title escaped once


class Webfinger:
    """A fediverse server's WebFinger with a chosen answer."""

    def __init__(self) -> None:
        self.jrd: dict[str, Any] = {}
        self.requests: list[str] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.query.get("resource", ""))
        return web.json_response(self.jrd, content_type="application/jrd+json")


@pytest.fixture
async def webfinger() -> AsyncIterator[Webfinger]:
    server = Webfinger()
    app = web.Application()
    app.router.add_get("/.well-known/webfinger", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    yield server
    await runner.cleanup()


async def test_a_visitor_is_sent_to_their_own_server_to_vote(instance, webfinger):
    poll = await new_poll(instance)
    template = f"http://127.0.0.1:{webfinger.port}/authorize_interaction?uri={{uri}}"
    webfinger.jrd = {"links": [{"rel": "http://ostatus.org/schema/1.0/subscribe",
                                "template": template}]}

    async with Visitor(instance) as visitor:
        status, page, _ = await visitor.get(
            f"/polls/{poll.id}/interact?handle=@alice@127.0.0.1:{webfinger.port}")

    poll_url = quote(f"{instance.url}/polls/{poll.id}", safe="")
    assert status == 200
    assert (f'href="http://127.0.0.1:{webfinger.port}/authorize_interaction?uri={poll_url}"'
            in page)
    assert webfinger.requests == [f"acct:alice@127.0.0.1:{webfinger.port}"]


@pytest.mark.parametrize(("handle", "jrd", "message"), [
    ("geen handle", {}, "Dat is geen fediverse-adres"),
    ("@a@b@c", {}, "Dat is geen fediverse-adres"),
    ("@alice@{server}", {"links": []}, "biedt geen manier"),
    ("@alice@{server}", {"links": [{"rel": "http://ostatus.org/schema/1.0/subscribe",
                                    "template": "javascript:alert(1)//{uri}"}]},
     "biedt geen manier"),
    ("@alice@127.0.0.1:1", {}, "is niet bereikbaar"),
    ("@alice@169.254.169.254", {}, "is niet bereikbaar"),
])
async def test_a_handle_that_leads_nowhere_gets_a_message_not_an_error(
        instance, webfinger, handle, jrd, message):
    poll = await new_poll(instance)
    webfinger.jrd = jrd

    async with Visitor(instance) as visitor:
        status, page, _ = await visitor.get(
            f"/polls/{poll.id}/interact?handle="
            + quote(handle.replace("{server}", f"127.0.0.1:{webfinger.port}")))

    assert status == 400
    assert message in page and 'role="alert"' in page
    assert "javascript:" not in page


async def test_the_widget_keeps_hidden_results_hidden_and_unknown_polls_are_404(instance):
    poll = await new_poll(instance, hide_results=True)
    await instance.services.store.record_vote(poll.id, "https://m.example/u/1", [1], True,
                                              None, time.time())

    async with Visitor(instance) as visitor:
        status, widget, _ = await visitor.get(f"/polls/{poll.id}/embed")
        missing, _, _ = await visitor.get("/polls/999/embed", Accept="text/html")
        json_status, body, _ = await visitor.get("/polls/999/embed", Accept="application/json")

    assert status == 200 and "(1 stem)" not in widget and "Oneens" in widget
    assert missing == 404 and json_status == 404 and json.loads(body)["error"]
