"""`make demo`: a hub and two libraries on loopback, federating for real.

Three instances in one process (each its own app, database and port, talking
over HTTP like any three servers): the hub follows both libraries, publishes a
national poll, and both libraries adopt it. Running it again reuses the data
under the demo directory and redoes only what is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from activitypub.keys import generate_private_key, private_key_pem, public_key_pem

from .. import follows
from ..app import create_app
from ..lifecycle import publish_poll
from ..polls import Poll, PollDraft
from ..services import Services
from ..settings import Settings
from ..storage import LocalActor
from ..storage.sqlite import SqliteStore
from .adoption import adopt

LIBRARIES = (("bieb", "Bibliotheek Aan de Vaart (demo)"),
             ("stad", "Stadsbibliotheek Heuvelrug (demo)"))
HUB = ("hub", "Peilingen van de bibliotheken (demo)")
NATIONAL_QUESTION = "Elke bibliotheek hoort op zondag open te zijn."
NATIONAL_INTRODUCTION = ("Een landelijke peiling: elke bibliotheek stelt haar publiek deze "
                         "vraag, de hub telt alle antwoorden bij elkaar op.")


@dataclass(frozen=True)
class Member:
    name: str
    display_name: str
    settings: Settings


def members(directory: Path, host: str, ports: tuple[int, int, int]) -> list[Member]:
    """The hub first, then the libraries; each names the hub in its `hubs`."""
    hub_url = f"http://{host}:{ports[0]}"
    hub = Member(HUB[0], HUB[1], Settings(
        base_url=hub_url, database=directory / "demo-hub" / "peiling.sqlite3", mode="demo",
        role="hub"))
    hub_actor = f"{hub_url}/users/{HUB[0]}"
    return [hub, *(Member(name, title, Settings(
        base_url=f"http://{host}:{port}", database=directory / f"demo-{name}" / "peiling.sqlite3",
        mode="demo", hubs=(hub_actor,))) for (name, title), port in zip(LIBRARIES, ports[1:],
                                                                         strict=True))]


async def create_actors(network: list[Member]) -> None:
    for member in network:
        member.settings.database.parent.mkdir(parents=True, exist_ok=True)
        store = await SqliteStore.open(member.settings.database)
        try:
            if await store.local_actor(member.name) is None:
                key = generate_private_key()
                await store.create_local_actor(LocalActor(
                    username=member.name, name=member.display_name,
                    summary="Demo van Peiling", private_key_pem=private_key_pem(key),
                    public_key_pem=public_key_pem(key)), time.time())
        finally:
            await store.close()


async def serve_network(network: list[Member], binds: list[str], stop: asyncio.Event,
                        ready: Callable[[list[Services]], Awaitable[None]]) -> None:
    """Serve every member until `stop`; `ready` runs once all answer."""
    apps = [create_app(member.settings) for member in network]
    tasks = [asyncio.create_task(serve(app, _config(bind), shutdown_trigger=stop.wait))
             for app, bind in zip(apps, binds, strict=True)]
    try:
        for member in network:
            await _until_serving(f"{member.settings.base_url}/healthz")
        await ready([_services_of(app) for app in apps])
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def wire(services: list[Services], within: float = 30.0) -> Poll:
    """Follows, a national poll and its two copies; whatever exists is kept."""
    hub, libraries = services[0], services[1:]
    hub_name = (await hub.store.local_actors())[0].username
    followed = {f.actor_id for f in await hub.store.following(hub_name)}
    for library in libraries:
        actor = library.urls.actor((await library.store.local_actors())[0].username)
        if actor not in followed:
            await follows.follow(hub, hub_name, actor)
    await _until(lambda: _all_accepted(hub, hub_name), within)
    national = await _national_poll(hub, hub_name)
    url = hub.urls.poll(national.id)
    for library in libraries:
        username = (await library.store.local_actors())[0].username
        if not [p for p in await library.store.polls(username)
                if await library.store.national_poll_of(p.id) == url]:
            await adopt(library, username, url)
    await _until(lambda: _copies_arrived(hub, national.id, len(libraries)), within)
    return national


async def _copies_arrived(hub: Services, national: int, expected: int) -> bool:
    return len(await hub.store.national_copies(national)) >= expected


async def _national_poll(hub: Services, username: str) -> Poll:
    existing = await hub.store.polls(username)
    if existing:
        return existing[-1]
    return await publish_poll(hub, username, PollDraft(
        question=NATIONAL_QUESTION, introduction=NATIONAL_INTRODUCTION,
        end_time=time.time() + 28 * 86400.0))


async def _all_accepted(hub: Services, username: str) -> bool:
    return all(f.state == "accepted" for f in await hub.store.following(username))


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Polled, not signalled: the Accept arrives through another instance's HTTP."""
    for _ in range(int(within * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the instances did not answer each other in time")


async def _until_serving(url: str, within: float = 30.0) -> None:
    async with asyncio.timeout(within), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


def _services_of(app: Quart) -> Services:
    """Made by the app's lifespan, which has run once the app answers."""
    found: Services = app.extensions["services"]
    return found


def _config(bind: str) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = None
    return config
