"""`make demo`: a hub and two libraries on loopback, federating for real.

Three instances in one process (each its own app, database and port, talking
over HTTP like any three servers): the hub follows both libraries, publishes a
national poll, both libraries adopt it, and a few demo visitors vote on each
copy on the library's own page, so the national page shows a real breakdown.
Each instance has the demo staff account. Running it again reuses the data
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
from ..accounts import ensure_demo_account
from ..app import create_app
from ..lifecycle import publish_poll
from ..polls import Poll, PollDraft
from ..services import Services
from ..settings import Settings
from ..storage import LocalActor
from ..storage.sqlite import SqliteStore
from ..webvotes import BallotBox, VoteRefused
from .adoption import adopt, adopted_copy

LIBRARIES = (("bieb", "Bibliotheek Aan de Vaart (demo)"),
             ("stad", "Stadsbibliotheek Heuvelrug (demo)"))
HUB = ("hub", "Peilingen van de bibliotheken (demo)")
NATIONAL_QUESTION = "Elke bibliotheek hoort op zondag open te zijn."
DEMO_VOTES = {"bieb": (0, 0, 0, 1, 0), "stad": (1, 0, 1)}  # option index per demo visitor
DEMO_DEBOUNCE_SECONDS = 3.0  # a web vote reaches the hub within seconds, not a minute
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
        role="hub", tally_debounce_seconds=DEMO_DEBOUNCE_SECONDS))
    hub_actor = f"{hub_url}/users/{HUB[0]}"
    return [hub, *(Member(name, title, Settings(
        base_url=f"http://{host}:{port}", database=directory / f"demo-{name}" / "peiling.sqlite3",
        mode="demo", hubs=(hub_actor,), tally_debounce_seconds=DEMO_DEBOUNCE_SECONDS))
        for (name, title), port in zip(LIBRARIES, ports[1:], strict=True))]


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
            await ensure_demo_account(store, time.time())
        finally:
            await store.close()


async def serve_network(network: list[Member], binds: list[str], stop: asyncio.Event,
                        ready: Callable[[list[Services]], Awaitable[None]]) -> None:
    """Serve every member until `stop`; `ready` runs once all answer."""
    apps = [create_app(member.settings) for member in network]
    tasks = [asyncio.create_task(serve(app, hypercorn_config(bind), shutdown_trigger=stop.wait))
             for app, bind in zip(apps, binds, strict=True)]
    try:
        for member in network:
            await wait_until_serving(f"{member.settings.base_url}/healthz")
        await ready([_services_of(app) for app in apps])
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def wire(services: list[Services], within: float = 30.0) -> Poll:
    """Follows, a national poll, its two copies and their demo votes; whatever exists
    is kept."""
    hub, libraries = services[0], services[1:]
    hub_name = (await hub.store.local_actors())[0].username
    followed = {f.actor_id for f in await hub.store.following(hub_name)}
    for library in libraries:
        actor = library.urls.actor((await library.store.local_actors())[0].username)
        if actor not in followed:
            await follows.follow(hub, hub_name, actor)
    await wait_until(lambda: _all_accepted(hub, hub_name), within)
    national = await _national_poll(hub, hub_name)
    url = hub.urls.poll(national.id)
    for library in libraries:
        username = (await library.store.local_actors())[0].username
        copy = await adopted_copy(library, username, url) or await adopt(library, username, url)
        await cast_demo_votes(library, copy, DEMO_VOTES.get(username, ()))
    await wait_until(lambda: _copies_arrived(hub, national.id, len(libraries)), within)
    return national


async def cast_demo_votes(library: Services, copy: Poll, choices: tuple[int, ...]) -> None:
    """Web votes of demo visitors, cast as the poll page casts them (so the library
    counts them and reports them to the hub). Each visitor has a fixed browser id,
    so a second run finds them voted already and adds nothing."""
    ballot = BallotBox()
    for number, choice in enumerate(choices):
        try:
            await ballot.cast(library, copy, f"peiling-demo-visitor-{number:02d}", [choice])
        except VoteRefused:  # voted in an earlier run, or the poll has closed since
            continue


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


async def wait_until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Polled, not signalled: the Accept arrives through another instance's HTTP."""
    for _ in range(int(within * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the instances did not answer each other in time")


async def wait_until_serving(url: str, within: float = 30.0) -> None:
    """Until `url` answers 200: hypercorn binds before the app's lifespan has run.
    (The tests' harness waits for its instances with this too.)"""
    async with asyncio.timeout(within), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.02)


def _services_of(app: Quart) -> Services:
    """Made by the app's lifespan, which has run once the app answers."""
    found: Services = app.extensions["services"]
    return found


def hypercorn_config(bind: str) -> Config:
    """Quiet hypercorn on one bind (an address, or `fd://N` for an inherited socket)."""
    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = None
    return config
