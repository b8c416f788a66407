"""Real instances and a fake remote server, on loopback, for federation tests.

`start_instance` serves the real app with hypercorn on a random 127.0.0.1 port
with its own SQLite file; `FakeRemote` is a small aiohttp server that speaks
like Mastodon: it serves actor documents with real keys, signs what it sends
and records (and verifies) what it receives.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypercorn.asyncio import serve
from quart import Quart

from activitypub import httpsig
from activitypub.keys import generate_private_key, load_public_key, private_key_pem, public_key_pem
from fediverse.app import create_app
from fediverse.hub.network import hypercorn_config, wait_until_serving
from fediverse.incoming import InboxWorker
from fediverse.services import Services
from fediverse.settings import Settings
from fediverse.storage import Follow, LocalActor
from fediverse.storage.sqlite import SqliteStore

FIXTURES = Path(__file__).parent / "fixtures"
_KEY_CACHE: list[RSAPrivateKey] = []


def shared_key(index: int = 0) -> RSAPrivateKey:
    """RSA keys are slow to make; tests share a few."""
    while len(_KEY_CACHE) <= index:
        _KEY_CACHE.append(generate_private_key())
    return _KEY_CACHE[index]


@dataclass
class RunningInstance:
    settings: Settings
    app: Quart
    port: int
    username: str
    _stop: asyncio.Event
    _task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def actor_id(self) -> str:
        return f"{self.url}/users/{self.username}"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions["services"]
        return found

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.wait_for(self._task, timeout=10)


async def start_instance(
    tmp_path: Path, name: str = "bieb", *, port: int = 0, background: bool = False,
    **overrides: Any,
) -> RunningInstance:
    """Serve a demo-mode instance with one local actor; restartable on the same port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    port = sock.getsockname()[1]
    settings = Settings(base_url=f"http://127.0.0.1:{port}",
                        database=tmp_path / f"{name}.sqlite3", mode="demo",
                        run_background_workers=background, **overrides)
    await ensure_actor(settings, name)
    app = create_app(settings)
    config = hypercorn_config(f"fd://{sock.detach()}")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    instance = RunningInstance(settings, app, port, name, stop, task)
    await wait_until_serving(f"{instance.url}/healthz", within=10.0)
    return instance


async def process(instance: RunningInstance) -> None:
    """Apply what the inbox stored, then send what that queued."""
    await InboxWorker(instance.services).run_once()
    await instance.services.delivery.run_once()


async def settle(*instances: RunningInstance) -> None:
    """Run inbox and delivery work on every instance until nothing moves."""
    for _ in range(10):
        moved = 0
        for inst in instances:
            moved += await InboxWorker(inst.services).run_once()
            moved += await inst.services.delivery.run_once()
        if not moved:
            return
    raise AssertionError("instances kept exchanging activities")


async def follower_on(remote: FakeRemote, instance: RunningInstance, name: str = "alice",
                      state: str = "accepted") -> str:
    """`name` on `remote` follows the instance's actor (stored, its actor document already
    fetched); returns the follower's id."""
    follower = remote.add_actor(name)
    await instance.services.directory.actor(follower)
    await instance.services.store.save_follower(
        Follow(instance.username, follower, f"{follower}#follow", state, time.time()))
    return follower


async def ensure_actor(settings: Settings, username: str) -> None:
    store = await SqliteStore.open(settings.database)
    try:
        if await store.local_actor(username) is None:
            key = shared_key(1)
            await store.create_local_actor(LocalActor(
                username=username, name=f"Bibliotheek {username}", summary="Test",
                private_key_pem=private_key_pem(key), public_key_pem=public_key_pem(key),
            ), time.time())
    finally:
        await store.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeRemote:
    """A fake fediverse server: actors with keys, a recording inbox, signed sends."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    inbox_status: Callable[[web.Request], web.StreamResponse | None] | None = None
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, RSAPrivateKey] = field(default_factory=dict)
    gets: list[str] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # by path: notes...
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> FakeRemote:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_get("/users/{name}/statuses/{status}", self._object)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def add_actor(self, name: str = "alice", key_index: int = 0, **extra: Any) -> str:
        """A Mastodon-shaped Person; returns its id."""
        actor_id = f"{self.base}/users/{name}"
        doc = json.loads((FIXTURES / "mastodon" / "mastodon-actor.json").read_text())
        key = shared_key(key_index)
        doc.update({
            "id": actor_id, "preferredUsername": name, "name": name.title(),
            "inbox": f"{actor_id}/inbox", "outbox": f"{actor_id}/outbox",
            "followers": f"{actor_id}/followers", "following": f"{actor_id}/following",
            "url": f"{self.base}/@{name}", "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id,
                          "publicKeyPem": public_key_pem(key)},
        })
        doc.pop("icon", None)
        doc.update(extra)
        self.actors[name] = doc
        self.keys[actor_id] = key
        return actor_id

    def fixture(self, name: str, instance: RunningInstance, actor: str = "alice") -> dict[str, Any]:
        """A captured activity from tests/fixtures/mastodon, re-aimed at these servers."""
        text = (FIXTURES / "mastodon" / name).read_text()
        for captured in ("https://m.example/ap/users/200", "https://mk.example/users/9abc",
                         "https://gts.example/users/bob"):
            text = text.replace(captured, f"{self.base}/users/{actor}")
        for server in ("https://m.example", "https://mk.example", "https://gts.example"):
            text = text.replace(server, self.base)
        text = text.replace("https://lib1.example/actor", instance.actor_id)
        text = text.replace("https://lib1.example", instance.url)
        return json.loads(text)

    async def send(self, activity: dict[str, Any] | bytes, inbox: str, *,
                   actor: str | None = None, headers: dict[str, str] | None = None,
                   now: datetime | None = None, sign: bool = True) -> tuple[int, str]:
        """POST an activity signed by `actor` (default: the activity's actor)."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        signer = actor or (activity["actor"] if isinstance(activity, dict) else "")
        base_headers = {"Content-Type": "application/activity+json"}
        if sign:
            base_headers = httpsig.sign("POST", inbox, base_headers, body,
                                        key_id=f"{signer}#main-key",
                                        private_key=self.keys[signer],
                                        now=now or datetime.now(UTC))
        base_headers.update(headers or {})
        async with aiohttp.ClientSession() as session, session.post(
                inbox, data=body, headers=base_headers) as response:
            return response.status, await response.text()

    async def _webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        name = resource.removeprefix("acct:").split("@", 1)[0]
        if name not in self.actors:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({
            "subject": f"acct:{name}@{self.host}",
            "links": [{"rel": "self", "type": "application/activity+json",
                       "href": self.actors[name]["id"]}],
        }, content_type="application/jrd+json")

    async def _actor(self, request: web.Request) -> web.Response:
        self.gets.append(request.path)
        doc = self.actors.get(request.match_info["name"])
        if doc is None:
            return web.json_response({"error": "gone"}, status=410)
        return web.json_response(doc, content_type="application/activity+json")

    async def _object(self, request: web.Request) -> web.Response:
        """A note this server published (`objects`), as Mastodon serves it."""
        self.gets.append(request.path)
        doc = self.objects.get(request.path)
        if doc is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(doc, content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = Received(request.path, dict(request.headers), body,
                          await self._verify(request, body))
        if self.inbox_status is not None:
            answer = self.inbox_status(request)
            if answer is not None:
                if isinstance(answer, web.Response) and answer.status < 300:
                    self.received.append(record)
                return answer
        self.received.append(record)
        return web.Response(status=202)

    async def _verify(self, request: web.Request, body: bytes) -> bool:
        """Check the sender's signature the way Mastodon would: fetch its key, verify."""
        try:
            params = httpsig.check_request(
                "POST", request.path_qs, dict(request.headers), body,
                expected_host=self.host, now=datetime.now(UTC))
            async with aiohttp.ClientSession() as session, session.get(
                    params.key_id.split("#")[0],
                    headers={"Accept": "application/activity+json"}) as response:
                actor = await response.json(content_type=None)
            if actor["publicKey"]["id"] != params.key_id:
                return False
            key = load_public_key(actor["publicKey"]["publicKeyPem"])
            httpsig.verify(params, "POST", request.path_qs, dict(request.headers), key)
        except Exception:
            return False
        return json.loads(body).get("actor") == actor["id"]


@dataclass
class LocalhostRemote(FakeRemote):
    """An honest peer named `localhost`: another host name (and domain) than the
    127.0.0.1 fakes, so it stays up when a test blocks or floods 127.0.0.1."""

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"
