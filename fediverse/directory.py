"""Remote actors and their keys: fetched rarely, cached, refreshed on rotation.

Every inbox POST needs the sender's key. Keys are cached in memory and in the
store; concurrent lookups of one key share one fetch; failures are cached for
a while so a flood of bad signatures cannot make us hammer a host; and a key is
refetched after a failed verification at most once per `key_refetch_seconds`
(that is how key rotation is picked up).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urldefrag

from activitypub.actors import ActorInfo, parse_actor
from activitypub.client import Client
from activitypub.errors import FetchError
from activitypub.vocab import JsonObject, as_list, host_of

from .storage import RemoteActor, Store

MAX_REMEMBERED_FAILURES = 10_000


class ActorDirectory:
    def __init__(self, store: Store, client: Client, *, refetch_seconds: float,
                 failure_ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._client = client
        self._refetch_seconds = refetch_seconds
        self._failure_ttl = failure_ttl_seconds
        self._clock = clock
        self._by_key: dict[str, RemoteActor] = {}
        self._failures: dict[str, tuple[float, str]] = {}
        self._inflight: dict[str, asyncio.Task[RemoteActor]] = {}

    async def by_key(self, key_id: str, *, refresh: bool = False) -> RemoteActor:
        """The actor owning `key_id`, from cache unless a refresh is asked and allowed."""
        cached = self._by_key.get(key_id) or await self._store.remote_actor_by_key(key_id)
        if cached and not (refresh and self._may_refetch(cached)):
            self._by_key[key_id] = cached
            return cached
        return await self._once(key_id, lambda: self._fetch_key_owner(key_id))

    async def actor(self, actor_id: str) -> RemoteActor:
        """An actor by id, from the store or fetched (for delivering to it)."""
        cached = await self._store.remote_actor(actor_id)
        if cached:
            return cached
        return await self._once(actor_id, lambda: self._fetch_actor(actor_id))

    def forget(self, actor_id: str) -> None:
        """Drop memory-cached keys of an actor that was deleted."""
        for key_id in [k for k, a in self._by_key.items() if a.id == actor_id]:
            del self._by_key[key_id]

    def _may_refetch(self, actor: RemoteActor) -> bool:
        return self._clock() - actor.fetched_at >= self._refetch_seconds

    async def _once(self, name: str, fetch: Callable[[], Awaitable[RemoteActor]]) -> RemoteActor:
        """Share one fetch between concurrent callers; remember failures for a while.

        The fetch runs in a task of its own: Quart cancels a handler whose peer
        hangs up, and a fetch run inside the first caller's handler would then
        leave every other caller waiting on it forever.
        """
        failure = self._failures.get(name)
        if failure and self._clock() - failure[0] < self._failure_ttl:
            raise FetchError(f"{failure[1]} (cached)")
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.create_task(self._fetch(name, fetch))
            self._inflight[name] = task
            task.add_done_callback(lambda done: self._settled(name, done))
        return await asyncio.shield(task)

    async def _fetch(self, name: str, fetch: Callable[[], Awaitable[RemoteActor]]) -> RemoteActor:
        """One lookup. A document whose text breaks parsing or storage (`http://[x`
        makes urlsplit raise ValueError, a lone surrogate makes SQLite raise
        UnicodeEncodeError) is unusable like any other, not a 500."""
        try:
            actor = await fetch()
        except ValueError as exc:
            unusable = FetchError(f"unusable actor document: {exc}")
            self._remember_failure(name, str(unusable))
            raise unusable from exc
        except FetchError as exc:
            self._remember_failure(name, str(exc))
            raise
        self._failures.pop(name, None)
        return actor

    def _remember_failure(self, name: str, reason: str) -> None:
        """Anyone can make up keyIds; expired failures are dropped so they cannot pile up."""
        now = self._clock()
        if len(self._failures) >= MAX_REMEMBERED_FAILURES:
            ttl = self._failure_ttl
            for stale in [k for k, (t, _) in self._failures.items() if now - t >= ttl]:
                del self._failures[stale]
            if len(self._failures) >= MAX_REMEMBERED_FAILURES:
                self._failures.clear()
        self._failures[name] = (now, reason)

    def _settled(self, name: str, task: asyncio.Task[RemoteActor]) -> None:
        if self._inflight.get(name) is task:
            del self._inflight[name]
        if not task.cancelled():
            task.exception()  # retrieved: when every caller has gone, nobody warns

    async def _fetch_key_owner(self, key_id: str) -> RemoteActor:
        """Mastodon serves the key inside the actor (`actor#main-key`); GoToSocial
        serves a stub at `…/main-key` whose `id` is the actor: then the owner is
        fetched by its own id and must list the key itself."""
        url, _ = urldefrag(key_id)
        final_url, doc = await self._client.fetch_document(url)
        owner = _key_owner(doc, key_id)
        if owner is None or host_of(owner) != host_of(key_id):
            raise FetchError("key document does not name an owner on the key's host")
        if not (doc.get("id") == owner == final_url):
            doc = await self._client.fetch_object(owner)
        actor = await self._remember(parse_actor(doc), key_id)
        self._by_key[key_id] = actor
        return actor

    async def _fetch_actor(self, actor_id: str) -> RemoteActor:
        info = parse_actor(await self._client.fetch_object(actor_id))
        return await self._remember(info, next(iter(info.keys), ""))

    async def _remember(self, info: ActorInfo, key_id: str) -> RemoteActor:
        if key_id not in info.keys:
            raise FetchError("the actor does not list the signing key")
        actor = RemoteActor(
            id=info.id, key_id=key_id, public_key_pem=info.keys[key_id], inbox=info.inbox,
            shared_inbox=info.shared_inbox, username=info.username, name=info.name,
            url=info.url, fetched_at=self._clock(),
        )
        await self._store.save_remote_actor(actor)
        return actor


def _key_owner(doc: JsonObject, key_id: str) -> str | None:
    for entry in as_list(doc.get("publicKey")):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            owner = entry.get("owner")
            return owner if isinstance(owner, str) else None
    if doc.get("id") == key_id and isinstance(doc.get("owner"), str):
        return str(doc["owner"])  # a standalone Key document
    return None
