"""Staff adopt a national poll from the admin's polls page: the same `adopt` as
`peiling poll adopt URL` against a real hub; every refusal is shown on the page, in
the reader's language, and stores nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import pytest
from admin_client import AdminClient
from harness import RunningInstance
from hub_helpers import national_poll, start_hub

from fediverse.lifecycle import close_poll


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    running = await start_hub(tmp_path)
    yield running
    await running.stop()


async def adopt(staff: AdminClient, url: str, **headers: str) -> tuple[int, str, object]:
    await staff.get("/admin/polls")
    return await staff.post("/admin/polls/adopt", {"url": url}, **headers)


async def copies(instance: RunningInstance) -> list[str | None]:
    store = instance.services.store
    return [await store.national_poll_of(p.id) for p in await store.polls("bieb")]


async def test_staff_adopt_a_national_poll_and_see_their_copy(instance, hub, staff):
    national = await national_poll(hub, options=("Ja", "Nee", "Weet niet"))
    url = hub.services.urls.poll(national.id)

    status, _, headers = await adopt(staff, url)

    assert status == 303
    assert await copies(instance) == [url]
    [copy] = await instance.services.store.polls("bieb")
    assert headers["Location"] == f"/admin/polls/{copy.id}/edit"
    _, page, _ = await staff.get(headers["Location"])
    assert "De landelijke peiling is overgenomen" in page  # staff read Dutch by default
    assert "De bibliotheek moet op zondag open." in page
    assert copy.options == ("Ja", "Nee", "Weet niet") and copy.end_time == int(national.end_time)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("target", "reason"), [
    ("", "starting with https://"),
    ("national poll 1", "starting with https://"),
    ("ftp://127.0.0.1/polls/1", "starting with https://"),
    ("http://user:pw@127.0.0.1/polls/1", "may not fetch that address"),
    ("http://[::1/polls/1", "may not fetch that address"),
    ("HUB/polls/999", "did not send a poll from that address (HTTP 404)"),
    ("HUB/national", "did not send a poll from that address"),
    ("CLOSED/polls/1", "did not answer"),
    ("HUB/users/hub", "That address is not a poll."),
])
async def test_a_bad_address_is_explained_and_nothing_is_stored(instance, hub, staff, target,
                                                                reason):
    url = target.replace("HUB", hub.url).replace("CLOSED", f"http://127.0.0.1:{closed_port()}")

    status, page, _ = await adopt(staff, url, **{"Accept-Language": "en"})

    assert status == 422 and reason in unescape(page)
    assert 'role="alert"' in page and f'value="{url}"'.replace("&", "&amp;") in page
    assert await copies(instance) == []


async def test_a_national_poll_is_adopted_once(instance, hub, staff):
    url = hub.services.urls.poll((await national_poll(hub)).id)
    assert (await adopt(staff, url))[0] == 303

    status, page, _ = await adopt(staff, url, **{"Accept-Language": "en"})

    assert status == 422 and "has adopted this national poll already" in page
    assert await copies(instance) == [url]


async def test_a_closed_national_poll_cannot_be_adopted(instance, hub, staff):
    national = await national_poll(hub)
    await close_poll(hub.services, national.id)

    status, page, _ = await adopt(staff, hub.services.urls.poll(national.id),
                                  **{"Accept-Language": "en"})

    assert status == 422 and "That national poll is closed" in page
    assert await copies(instance) == []


async def test_the_refusal_is_in_dutch_for_a_dutch_reader(instance, hub, staff):
    status, page, _ = await adopt(staff, f"{hub.url}/users/hub", **{"Accept-Language": "nl"})

    assert status == 422 and "Dat adres is geen peiling." in page


async def test_adopting_needs_the_forms_csrf_token(instance, hub, staff):
    url = hub.services.urls.poll((await national_poll(hub)).id)

    status, _, _ = await staff.post("/admin/polls/adopt", {"url": url}, csrf=False)

    assert status == 400 and await copies(instance) == []
