"""`make demo`'s core on random ports: a hub and two libraries, wired and serving."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

from admin_client import AdminClient
from hub_helpers import by_library
from web_client import WebClient

from fediverse.accounts import DEMO_ADMIN
from fediverse.hub.national import NationalResult, national_result
from fediverse.hub.network import (
    DEMO_VOTES,
    create_actors,
    members,
    serve_network,
    wait_until,
    wire,
)
from fediverse.polls import Poll
from fediverse.services import Services
from fediverse.storage.sqlite import SqliteStore


def free_ports() -> tuple[int, int, int]:
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = tuple(sock.getsockname()[1] for sock in sockets)
    for sock in sockets:
        sock.close()
    return ports  # type: ignore[return-value]


@dataclass(frozen=True)
class Address:
    url: str


async def run_demo(tmp_path, ports, results: list[NationalResult] | None = None) -> list[str]:
    """Wire the demo, wait until the hub holds the copies' demo votes, then read the
    national poll page and the overview, and log in to each instance's admin."""
    network = members(tmp_path, "127.0.0.1", ports)
    await create_actors(network)
    stop = asyncio.Event()
    pages: list[str] = []

    async def ready(services: list[Services]) -> None:
        national = await wire(services)
        hub = services[0]
        await until_counted(hub, national, sum(len(c) for c in DEMO_VOTES.values()))
        if results is not None:
            results.append(await national_result_of(hub, national))
        async with WebClient(Address(hub.settings.base_url)) as browser:
            for path in (f"/national/polls/{national.id}?lang=en", "/national?lang=en"):
                status, page, _ = await browser.get(path)
                assert status == 200
                pages.append(page)
        for member in network:
            async with AdminClient(Address(member.settings.base_url)) as staff:
                assert await staff.log_in(*DEMO_ADMIN) == 303
                status, page, _ = await staff.get("/admin/polls")
                assert status == 200 and "Elke bibliotheek hoort op zondag open te zijn." in page
        stop.set()

    await asyncio.wait_for(serve_network(
        network, [f"127.0.0.1:{p}" for p in ports], stop, ready), timeout=90)
    return pages


async def until_counted(hub: Services, national: Poll, voters: int) -> None:
    """The libraries report after their (short, demo) debounce: wait for it."""
    async def counted() -> bool:
        return (await national_result_of(hub, national)).voters >= voters
    await wait_until(counted, within=30)


async def national_result_of(hub: Services, national: Poll) -> NationalResult:
    return national_result(national, await hub.store.tally(national.id),
                           await hub.store.national_copies(national.id), time.time(),
                           hub.settings.hub_stale_hours * 3600)


def expected_counts() -> dict[str, tuple[int, int]]:
    return {name: (choices.count(0), choices.count(1)) for name, choices in DEMO_VOTES.items()}


async def test_the_demo_wires_a_hub_and_two_libraries_with_an_adopted_national_poll(tmp_path):
    ports = free_ports()

    poll_page, overview = await run_demo(tmp_path, ports)

    assert "2 of 2 copies reported" in poll_page
    assert "Bibliotheek Aan de Vaart (demo)" in poll_page
    assert "Stadsbibliotheek Heuvelrug (demo)" in overview
    assert "Not counted" not in poll_page
    eens, oneens = (sum(c[i] for c in expected_counts().values()) for i in (0, 1))
    assert f"Eens ({eens} vote" in poll_page and f"Oneens ({oneens} vote" in poll_page
    for name, (e, o) in expected_counts().items():  # each copy's row
        assert f"Eens: {e} vote" in poll_page and f"Oneens: {o} vote" in poll_page, name


async def test_the_national_totals_are_the_sum_of_the_copies_demo_votes(tmp_path):
    ports = free_ports()
    results: list[NationalResult] = []

    await run_demo(tmp_path, ports, results)

    [result] = results
    assert {library.rsplit("/", 1)[-1]: counts for library, counts in by_library(result).items()
            } == expected_counts()
    assert result.counts == tuple(map(sum, zip(*expected_counts().values(), strict=True)))


async def test_running_the_demo_again_adds_nothing(tmp_path):
    ports = free_ports()
    await run_demo(tmp_path, ports)

    poll_page, overview = await run_demo(tmp_path, ports)

    # the national poll once in its list, and each library copy once; no extra votes
    assert overview.count("Elke bibliotheek hoort op zondag open te zijn.") == 3
    for name, choices in DEMO_VOTES.items():
        store = await SqliteStore.open(tmp_path / f"demo-{name}" / "peiling.sqlite3")
        try:
            [copy] = await store.polls(name)
            assert (await store.tally(copy.id)).voters == len(choices)
        finally:
            await store.close()
    assert f"{sum(len(c) for c in DEMO_VOTES.values())} voters" in poll_page
