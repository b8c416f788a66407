"""`make demo`'s core on random ports: a hub and two libraries, wired and serving."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from fediverse.hub.network import create_actors, members, serve_network, wire
from fediverse.services import Services


def free_ports() -> tuple[int, int, int]:
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = tuple(sock.getsockname()[1] for sock in sockets)
    for sock in sockets:
        sock.close()
    return ports  # type: ignore[return-value]


async def run_demo(tmp_path, ports) -> list[str]:
    network = members(tmp_path, "127.0.0.1", ports)
    await create_actors(network)
    stop = asyncio.Event()
    pages: list[str] = []

    async def ready(services: list[Services]) -> None:
        national = await wire(services)
        async with aiohttp.ClientSession() as session:
            for url in (f"{network[0].settings.base_url}/national/polls/{national.id}?lang=en",
                        f"{network[0].settings.base_url}/national?lang=en"):
                async with session.get(url) as response:
                    assert response.status == 200
                    pages.append(await response.text())
        stop.set()

    await asyncio.wait_for(serve_network(
        network, [f"127.0.0.1:{p}" for p in ports], stop, ready), timeout=60)
    return pages


async def test_the_demo_wires_a_hub_and_two_libraries_with_an_adopted_national_poll(tmp_path):
    ports = free_ports()

    poll_page, overview = await run_demo(tmp_path, ports)

    assert "2 of 2 copies reported" in poll_page  # both adopted, with zero votes each
    assert "Bibliotheek Aan de Vaart (demo)" in poll_page
    assert "Stadsbibliotheek Heuvelrug (demo)" in overview
    assert "Not counted" not in poll_page


async def test_running_the_demo_again_adds_nothing(tmp_path):
    ports = free_ports()
    await run_demo(tmp_path, ports)

    _, overview = await run_demo(tmp_path, ports)

    # the national poll once in its list, and each library copy once
    assert overview.count("Elke bibliotheek hoort op zondag open te zijn.") == 3
