"""The inbox of a running instance under hostile input (security.md §9, A1–A17, A27, A28,
A30–A33, A45).

Every case is a real HTTP request to a real demo-mode instance. Each test checks
the exact status (never a 5xx), that nothing was stored (no inbox, follower or
delivery rows), that no fetch was made when the request should be refused
before one, and that the instance is still up afterwards: it answers
`/healthz` and accepts a legitimate signed Follow. The pieces themselves have
unit tests in test_httpsig.py, test_client.py and test_addresses.py; these
tests show that the inbox puts them together in the right order.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from harness import FakeRemote, RunningInstance, shared_key

from activitypub import httpsig
from activitypub.client import Client, FetchPolicy
from activitypub.errors import FetchError
from activitypub.keys import public_key_pem
from fediverse.directory import ActorDirectory
from fediverse.incoming import InboxWorker
from fediverse.storage.sqlite import SqliteStore

AS2 = "application/activity+json"
MiB = 1_048_576
Signer = Callable[[bytes], bytes]


# ---------------------------------------------------------------- servers


@dataclass
class HostileRemote(FakeRemote):
    """FakeRemote with switches for spoofed actor documents (A12, A17, A32)."""

    content_types: dict[str, str] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        if name in self.redirects:
            self.gets.append(request.path)
            return web.Response(status=302, headers={"Location": self.redirects[name]})
        response = await super()._actor(request)
        if name in self.content_types:
            response.content_type = self.content_types[name]
        return response


class Canary:
    """A plain TCP listener that only counts the connections it accepts."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Canary:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def remote() -> AsyncIterator[HostileRemote]:
    """A fake Mastodon with alice, whose documents the test can make hostile."""
    fake = await HostileRemote().start()
    fake.add_actor("alice")
    yield fake
    await fake.stop()


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    listener = await Canary().start()
    yield listener
    await listener.stop()


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Post:
    url: str
    headers: dict[str, str]
    body: bytes


def follow_of(remote: FakeRemote, instance: RunningInstance, name: str = "alice") -> dict[str, Any]:
    """Mastodon's captured Follow, from `name`, with a fresh id."""
    follow = remote.fixture("mastodon-follow.json", instance, actor=name)
    follow["id"] = f"{remote.base}/{uuid.uuid4()}"
    return follow


def signed(remote: FakeRemote, activity: dict[str, Any] | bytes, url: str, *,
           signer: str | None = None, key: rsa.RSAPrivateKey | None = None,
           key_id: str | None = None, now: datetime | None = None,
           content_type: str = AS2) -> Post:
    """A POST signed the way Mastodon signs it (by the activity's actor unless told)."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    signer = signer or (activity["actor"] if isinstance(activity, dict) else "")
    headers = httpsig.sign("POST", url, {"Content-Type": content_type}, body,
                           key_id=key_id or f"{signer}#main-key",
                           private_key=key or remote.keys[signer], now=now or datetime.now(UTC))
    return Post(url, headers, body)


def rsa_signer(key: rsa.RSAPrivateKey) -> Signer:
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def signature_over(covered: list[str], method: str, url: str, headers: dict[str, str],
                   *, key_id: str, sign: Signer, algorithm: str = "rsa-sha256") -> str:
    """A Signature header over exactly `covered`: for requests httpsig.sign never makes."""
    text = httpsig.signing_string(method, urlsplit(url).path, headers, covered)
    value = base64.b64encode(sign(text.encode())).decode()
    return (f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
            f'signature="{value}"')


async def post(request: Post) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(
            request.url, data=request.body, headers=request.headers) as response:
        return response.status, await response.text()


async def get_status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Snapshot:
    inbox: int
    followers: int
    deliveries: int


async def snapshot(instance: RunningInstance) -> Snapshot:
    store = instance.services.store
    followers = [f for state in ("accepted", "pending")
                 for f in await store.followers(instance.username, state)]
    return Snapshot(await store.inbox_activity_count(), len(followers),
                    sum((await store.delivery_counts()).values()))


async def process(instance: RunningInstance) -> int:
    """Apply what the inbox stored, then send what that queued."""
    done = await InboxWorker(instance.services).run_once()
    await instance.services.delivery.run_once()
    return done


async def assert_unharmed(instance: RunningInstance, bystander: FakeRemote,
                          before: Snapshot) -> None:
    """Nothing was stored, nothing is left to apply, and the instance still serves."""
    assert await process(instance) == 0
    assert await snapshot(instance) == before
    assert await get_status(f"{instance.url}/healthz") == 200
    status, reason = await bystander.send(follow_of(bystander, instance, "dora"), instance.inbox)
    assert (status, reason) == (202, "")
    assert (await instance.services.store.inbox_activity_count()) == before.inbox + 1


# ---------------------------------------------------------------- A1, A3–A6, A8, A10


def _unsigned(remote: FakeRemote, instance: RunningInstance) -> Post:
    request = signed(remote, follow_of(remote, instance), instance.inbox)
    return replace(request, headers={k: v for k, v in request.headers.items()
                                     if k != "Signature"})


def _body_changed(remote: FakeRemote, instance: RunningInstance) -> Post:
    request = signed(remote, follow_of(remote, instance), instance.inbox)
    return replace(request, body=request.body.replace(b'"Follow"', b'"Block"'))


def _sha512_digest_only(remote: FakeRemote, instance: RunningInstance) -> Post:
    request = signed(remote, follow_of(remote, instance), instance.inbox)
    digest = "SHA-512=" + base64.b64encode(hashlib.sha512(request.body).digest()).decode()
    return replace(request, headers={**request.headers, "Digest": digest})


def _with_digest(value: str) -> Callable[[FakeRemote, RunningInstance], Post]:
    def build(remote: FakeRemote, instance: RunningInstance) -> Post:
        request = signed(remote, follow_of(remote, instance), instance.inbox)
        return replace(request, headers={**request.headers, "Digest": value})
    return build


def _dated(hours: int) -> Callable[[FakeRemote, RunningInstance], Post]:
    def build(remote: FakeRemote, instance: RunningInstance) -> Post:
        return signed(remote, follow_of(remote, instance), instance.inbox,
                      now=datetime.now(UTC) + timedelta(hours=hours))
    return build


def _covering(*covered: str, date: str | None = None,
              algorithm: str = "rsa-sha256") -> Callable[[FakeRemote, RunningInstance], Post]:
    """Alice's Follow, correctly signed by her over `covered` only."""
    def build(remote: FakeRemote, instance: RunningInstance) -> Post:
        request = signed(remote, follow_of(remote, instance), instance.inbox)
        headers = {k: v for k, v in request.headers.items() if k != "Signature"}
        if date is not None:
            headers["Date"] = date
        alice = remote.actors["alice"]["id"]
        headers["Signature"] = signature_over(
            list(covered), "POST", instance.inbox, headers, key_id=f"{alice}#main-key",
            sign=rsa_signer(remote.keys[alice]), algorithm=algorithm)
        return replace(request, headers=headers)
    return build


def _delivery_to_another_server(remote: FakeRemote, instance: RunningInstance) -> Post:
    """A delivery signed for the fake's own /inbox, captured there and replayed to us."""
    request = signed(remote, follow_of(remote, instance), f"{remote.base}/inbox")
    return replace(request, url=f"{instance.url}/inbox")


def _signed_get_replayed(remote: FakeRemote, instance: RunningInstance) -> Post:
    """A signed GET of our actor (no digest), replayed as a POST with a body."""
    alice = remote.actors["alice"]["id"]
    headers = httpsig.sign("GET", instance.actor_id, {"Accept": AS2}, None,
                           key_id=f"{alice}#main-key", private_key=remote.keys[alice],
                           now=datetime.now(UTC))
    body = json.dumps(follow_of(remote, instance)).encode()
    headers.update({"Content-Type": AS2, "Digest": httpsig.digest_header(body)})
    return Post(instance.inbox, headers, body)


def _key_id_not_a_url(remote: FakeRemote, instance: RunningInstance) -> Post:
    return signed(remote, follow_of(remote, instance), instance.inbox, key_id="http://[oops")


REFUSED_BEFORE_ANY_FETCH = {
    "A1 no signature": (_unsigned, "Request not signed"),
    "A5 body changed after signing": (_body_changed, "Digest does not match"),
    "A5 only a SHA-512 digest": (_sha512_digest_only, "no SHA-256 entry"),
    "A5 digest not base64": (_with_digest("SHA-256=not*base64!"), "not valid base64"),
    "A5 digest of 31 bytes": (_with_digest("SHA-256=" + base64.b64encode(bytes(31)).decode()),
                              "not 32 bytes"),
    "A6 Date two hours old": (_dated(-2), "expired"),
    "A6 Date two hours ahead": (_dated(2), "future"),
    "A6 Date not a date": (_covering("(request-target)", "host", "date", "digest",
                                     date="wrong date"), "not a valid HTTP date"),
    "A8 algorithm hmac-sha256": (_covering("(request-target)", "host", "date", "digest",
                                           algorithm="hmac-sha256"), "unsupported algorithm"),
    "A6 neither Date nor (created) signed": (_covering("(request-target)", "host", "digest"),
                                             "Date or (created) must be signed"),
    "A3 digest not signed": (_covering("(request-target)", "host", "date"),
                             "Digest must be signed"),
    "A4 host not signed": (_covering("(request-target)", "date", "digest"),
                           "Host must be signed"),
    "A4 request-target not signed": (_covering("host", "date", "digest"),
                                     "(request-target) must be signed"),
    "A4 Host of another server": (_delivery_to_another_server, "Host header"),
    "A10 signed GET replayed as POST": (_signed_get_replayed, "Digest must be signed"),
    "A12 keyId not a URL": (_key_id_not_a_url, "keyId"),
}


@pytest.mark.parametrize("case", REFUSED_BEFORE_ANY_FETCH.values(),
                         ids=list(REFUSED_BEFORE_ANY_FETCH))
async def test_badly_signed_post_is_refused_with_401_before_any_fetch(
        instance, remote: HostileRemote, bystander, case):
    build, reason = case
    request = build(remote, instance)
    before = await snapshot(instance)

    status, text = await post(request)

    assert status == 401
    assert reason in json.loads(text)["error"]
    assert remote.gets == []  # refused on the request alone: alice's key was never fetched
    await assert_unharmed(instance, bystander, before)


@pytest.mark.parametrize("algorithm", ["hs2019", None], ids=["hs2019", "no algorithm"])
async def test_rsa_signature_without_rsa_sha256_label_is_accepted(
        instance, remote: HostileRemote, algorithm):
    """A8: Mastodon treats a missing algorithm as hs2019; the RSA key decides how to verify."""
    request = _covering("(request-target)", "host", "date", "digest")(remote, instance)
    label = 'algorithm="rsa-sha256",'
    new_label = f'algorithm="{algorithm}",' if algorithm else ""
    request = replace(request, headers={
        **request.headers, "Signature": request.headers["Signature"].replace(label, new_label)})

    status, _ = await post(request)

    assert status == 202
    assert await instance.services.store.inbox_activity_count() == 1


# ---------------------------------------------------------------- A2, A12: who owns the key


async def test_signature_by_another_actor_of_the_same_host_is_refused_with_401(
        instance, remote: HostileRemote, bystander):
    """A2: mallory signs (validly, with her own key) a Follow whose actor is alice."""
    mallory = remote.add_actor("mallory", key_index=2)
    request = signed(remote, follow_of(remote, instance), instance.inbox, signer=mallory)
    before = await snapshot(instance)

    status, text = await post(request)

    assert status == 401
    assert "not owned by the activity's actor" in text
    assert remote.gets == ["/users/mallory"]  # alice's key was never fetched
    assert await instance.services.store.remote_actor(remote.actors["alice"]["id"]) is None
    await assert_unharmed(instance, bystander, before)


async def test_relayed_activity_with_an_ld_signature_is_not_attributed_to_its_author(
        instance, remote: HostileRemote, bystander):
    """A11: a relay signs (HTTP) a Create by carol@third.test carrying carol's
    RsaSignature2017; we do not verify LD signatures, so the HTTP signer must be the actor."""
    relay = remote.add_actor("relay", key_index=2)
    create = {**_create_note(remote, instance), "actor": "https://third.test/users/carol",
              "id": "https://third.test/users/carol/statuses/1/activity",
              "signature": {"type": "RsaSignature2017",
                            "creator": "https://third.test/users/carol#main-key",
                            "created": "2026-08-02T00:00:00Z", "signatureValue": "AAAA"}}
    create["object"].update(id="https://third.test/users/carol/statuses/1",
                            attributedTo="https://third.test/users/carol")
    before = await snapshot(instance)

    status, _ = await post(signed(remote, create, instance.inbox, signer=relay))

    assert status == 401
    assert remote.gets == []
    await assert_unharmed(instance, bystander, before)


async def test_key_on_another_host_than_the_actor_is_refused_without_any_fetch(
        instance, remote: HostileRemote, bystander, canary: Canary):
    """A12: the keyId's host is checked against the actor's before anything is fetched."""
    elsewhere = f"http://127.0.0.1:{canary.port}/users/alice#main-key"
    request = signed(remote, follow_of(remote, instance), instance.inbox, key_id=elsewhere)
    before = await snapshot(instance)

    status, text = await post(request)

    assert status == 401
    assert "not on the actor's host" in text
    assert remote.gets == []
    assert canary.connections == 0
    await assert_unharmed(instance, bystander, before)


@pytest.mark.parametrize("path", ["/nobody/x", "/users/nobody"], ids=["404", "410"])
async def test_key_that_does_not_resolve_is_refused_with_401_and_remembered(
        instance, remote: HostileRemote, bystander, path):
    """A12/A17: the fake answers 404 (no route) or 410 (no such user); the failure is cached."""
    actor = f"{remote.base}{path}"
    remote.keys[actor] = shared_key(0)
    follow = {**follow_of(remote, instance), "actor": actor}
    before = await snapshot(instance)

    first, _ = await post(signed(remote, follow, instance.inbox))
    gets_after_first = list(remote.gets)
    second, text = await post(signed(remote, {**follow, "id": f"{remote.base}/again"},
                                     instance.inbox))

    assert (first, second) == (401, 401)
    assert "cached" in text  # the second attempt did not fetch again
    assert remote.gets == gets_after_first
    await assert_unharmed(instance, bystander, before)


def _id_elsewhere_on_host(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["id"] = f"{remote.base}/users/mallory"


def _id_on_another_host(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["id"] = f"http://127.0.0.1:{canary.port}/users/alice"


def _key_owned_by_another(remote: HostileRemote, canary: Canary) -> None:
    mallory = remote.add_actor("mallory", key_index=2)
    remote.actors["alice"]["publicKey"]["owner"] = mallory


def _key_with_another_id(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["publicKey"]["id"] = f"{remote.base}/users/alice#other-key"


def _served_as(content_type: str) -> Callable[[HostileRemote, Canary], None]:
    def spoil(remote: HostileRemote, canary: Canary) -> None:
        remote.content_types["alice"] = content_type
    return spoil


def _redirected_to_another_port(remote: HostileRemote, canary: Canary) -> None:
    remote.redirects["alice"] = f"http://127.0.0.1:{canary.port}/users/alice"


def _fifty_megabytes(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["summary"] = "x" * (50 * MiB)


def _unparseable_inbox(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["inbox"] = "http://[oops/inbox"


def _unparseable_owner(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["publicKey"]["owner"] = "http://[oops"


def _unstorable_name(remote: HostileRemote, canary: Canary) -> None:
    remote.actors["alice"]["name"] = "Alice \ud800"  # a lone surrogate: valid JSON


SPOOFED_ACTOR_DOCUMENTS = {
    "A17 id is another URL on the host": _id_elsewhere_on_host,
    "A17 id on another host": _id_on_another_host,
    "A12 key owner is another actor": _key_owned_by_another,
    "A12 publicKey.id is not the keyId": _key_with_another_id,
    "A17 served as application/json": _served_as("application/json"),
    "A17 served as text/plain": _served_as("text/plain"),
    "A32 redirect to another port": _redirected_to_another_port,
    "A33 document of 50 MB": _fifty_megabytes,
    "A17 inbox is not a URL": _unparseable_inbox,
    "A12 owner is not a URL": _unparseable_owner,
    "A17 name with a lone surrogate": _unstorable_name,
}


@pytest.mark.parametrize("spoil", SPOOFED_ACTOR_DOCUMENTS.values(),
                         ids=list(SPOOFED_ACTOR_DOCUMENTS))
async def test_spoofed_actor_document_is_refused_with_401_and_not_cached(
        instance, remote: HostileRemote, bystander, canary: Canary, spoil):
    spoil(remote, canary)
    before = await snapshot(instance)

    status, _ = await post(signed(remote, follow_of(remote, instance), instance.inbox))

    assert status == 401
    store = instance.services.store
    for actor_id in (f"{remote.base}/users/alice", remote.actors["alice"]["id"]):
        assert await store.remote_actor(actor_id) is None  # nothing kept under any id
    assert canary.connections == 0
    await assert_unharmed(instance, bystander, before)


def _ed25519_pem(key: ed25519.Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("kind", ["ed25519", "rsa-1024"])
async def test_signature_by_a_key_we_do_not_accept_is_refused_with_401(
        instance, remote: HostileRemote, bystander, kind):
    """A8/rule 5: an Ed25519 key behind `rsa-sha256`, or a weak RSA key, signs nothing."""
    if kind == "ed25519":
        weak = ed25519.Ed25519PrivateKey.generate()
        pem, sign = _ed25519_pem(weak), weak.sign
    else:
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        pem, sign = public_key_pem(small), rsa_signer(small)
    remote.actors["alice"]["publicKey"]["publicKeyPem"] = pem
    alice = remote.actors["alice"]["id"]
    request = signed(remote, follow_of(remote, instance), instance.inbox)
    headers = {k: v for k, v in request.headers.items() if k != "Signature"}
    headers["Signature"] = signature_over(
        ["(request-target)", "host", "date", "digest", "content-type"], "POST",
        instance.inbox, headers, key_id=f"{alice}#main-key", sign=sign)
    before = await snapshot(instance)

    status, _ = await post(replace(request, headers=headers))

    assert status == 401
    await assert_unharmed(instance, bystander, before)


# ---------------------------------------------------------------- A30, A31: private addresses

PRIVATE_HOSTS = ["10.0.0.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "[::ffff:10.0.0.1]",
                 "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"]


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_actor_at_a_private_address_is_refused_with_401_without_connecting(
        instance, remote: HostileRemote, bystander, host):
    """A30, in demo mode (plain loopback allowed): these are never allowed.

    The reason shows the client refused the literal address before opening any
    connection; the second attempt is answered from the negative cache.
    """
    actor = f"http://{host}/users/x"
    remote.keys[actor] = shared_key(0)
    follow = {**follow_of(remote, instance), "id": f"http://{host}/follows/1", "actor": actor}
    before = await snapshot(instance)

    started = time.monotonic()
    first, reason = await post(signed(remote, follow, instance.inbox))
    second, again = await post(signed(remote, {**follow, "id": f"http://{host}/follows/2"},
                                      instance.inbox))

    assert (first, second) == (401, 401)
    assert "is not allowed" in reason
    assert "cached" in again
    assert time.monotonic() - started < 2  # refused, not timed out
    await assert_unharmed(instance, bystander, before)


@pytest.mark.parametrize(("policy", "url"), [
    (FetchPolicy(), "https://127.0.0.1:{port}/users/x#main-key"),
    (FetchPolicy(), "https://localhost:{port}/users/x#main-key"),
    (FetchPolicy(allow_http=True), "http://127.0.0.1:{port}/users/x#main-key"),
    (FetchPolicy(allow_http=True), "http://localhost:{port}/users/x#main-key"),
    (FetchPolicy(allow_http=True), "http://[::ffff:127.0.0.1]:{port}/users/x#main-key"),
], ids=["https-literal", "https-name", "http-literal", "http-name", "http-mapped"])
async def test_production_key_lookup_never_connects_to_loopback(
        tmp_path: Path, canary: Canary, policy: FetchPolicy, url: str):
    """A30/A31 for production, one level down from the inbox.

    A production instance needs an https base_url, so it cannot be served on
    loopback by the harness; this builds the ActorDirectory the inbox calls with
    production's FetchPolicy (also with http allowed, so the refusal is the
    address rule's, not the scheme's) and shows the canary is never connected to.
    """
    key_id = url.format(port=canary.port)
    store = await SqliteStore.open(tmp_path / "production.sqlite3")
    client = Client(policy, user_agent="Peiling/test")
    directory = ActorDirectory(store, client, refetch_seconds=300, failure_ttl_seconds=300)
    try:
        with pytest.raises(FetchError, match="not allowed"):
            await directory.by_key(key_id)
        with pytest.raises(FetchError, match="cached"):
            await directory.by_key(key_id)
    finally:
        await client.close()
        await store.close()

    assert canary.connections == 0


async def test_canary_sees_the_connection_when_loopback_is_allowed(tmp_path: Path,
                                                                  canary: Canary):
    """The control for the test above: the same lookup in demo mode does connect."""
    store = await SqliteStore.open(tmp_path / "demo.sqlite3")
    client = Client(FetchPolicy(allow_http=True, allow_loopback=True), user_agent="Peiling/test")
    directory = ActorDirectory(store, client, refetch_seconds=300, failure_ttl_seconds=300)
    try:
        with pytest.raises(FetchError):
            await directory.by_key(f"http://127.0.0.1:{canary.port}/users/x#main-key")
    finally:
        await client.close()
        await store.close()

    assert canary.connections >= 1  # aiohttp may retry a connection closed at once


# ---------------------------------------------------------------- A27: size


async def _post_streamed(url: str, total: int, *, declare_length: bool,
                        ) -> tuple[int | None, int]:
    """POST `total` bytes of JSON whitespace in 64 KiB chunks: the status, and bytes sent.

    Written on a raw connection and read concurrently: the server may answer 413
    and close while the body is still being sent, which a client library reports
    as a failed write instead of the answer.
    """
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    framing = f"Content-Length: {total}" if declare_length else "Transfer-Encoding: chunked"
    writer.write(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                 f"Content-Type: {AS2}\r\n{framing}\r\n\r\n".encode())
    sent = 0

    async def pump() -> None:
        nonlocal sent
        while sent < total:
            size = min(65_536, total - sent)
            chunk = b" " * size
            writer.write(chunk if declare_length else b"%x\r\n%s\r\n" % (size, chunk))
            sent += size
            await writer.drain()
        if not declare_length:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    pumping = asyncio.create_task(pump())
    try:
        async with asyncio.timeout(10):
            status_line = await reader.readline()
    except ConnectionError:
        status_line = b""  # the close beat the answer (see the test)
    finally:
        pumping.cancel()
        await asyncio.gather(pumping, return_exceptions=True)
        writer.close()
    return (int(status_line.split(b" ")[1]) if status_line else None), sent


@pytest.mark.parametrize(("size", "expected"), [(MiB, 401), (MiB + 1, 413), (5 * MiB, 413)],
                         ids=["exactly 1 MiB", "1 MiB + 1", "5 MB"])
async def test_body_over_one_mebibyte_is_refused_with_413(instance, bystander, size, expected):
    """With a Content-Length; the limit itself passes the size check (then 401: unsigned)."""
    before = await snapshot(instance)
    started = time.monotonic()

    status, _ = await _post_streamed(instance.inbox, size, declare_length=True)

    assert status == expected
    assert time.monotonic() - started < 5
    await assert_unharmed(instance, bystander, before)


@pytest.mark.parametrize("declare_length", [True, False], ids=["Content-Length", "chunked"])
async def test_huge_body_is_refused_with_413_before_it_is_all_sent(instance, bystander,
                                                                   declare_length):
    """A 1 GiB body (far more than loopback socket buffers hold): the 413 comes back
    while the client is still sending, so the server did not read it whole.

    The server closes a connection whose body it did not read; the kernel then
    answers the client's next bytes with a reset, which can discard the 413 before
    the client reads it (a race that load makes likely). So: three tries, each
    must end early, and at least one must read the 413."""
    before = await snapshot(instance)
    statuses = []
    for _ in range(3):
        started = time.monotonic()
        status, sent = await _post_streamed(instance.inbox, 1024 * MiB,
                                            declare_length=declare_length)
        statuses.append(status)
        assert sent < 1024 * MiB
        assert time.monotonic() - started < 5

    assert 413 in statuses and set(statuses) <= {413, None}
    await assert_unharmed(instance, bystander, before)


async def test_content_length_of_ten_gigabytes_is_refused_with_413_at_once(instance, bystander):
    """Written by hand: aiohttp would not send a Content-Length its body does not match."""
    before = await snapshot(instance)
    reader, writer = await asyncio.open_connection("127.0.0.1", instance.port)
    try:
        writer.write((f"POST /inbox HTTP/1.1\r\nHost: {instance.settings.host}\r\n"
                      f"Content-Type: {AS2}\r\nContent-Length: 10000000000\r\n\r\n{{}}").encode())
        await writer.drain()
        async with asyncio.timeout(5):
            status_line = await reader.readline()
    finally:
        writer.close()

    assert status_line.split(b" ")[1] == b"413"
    await assert_unharmed(instance, bystander, before)


# ---------------------------------------------------------------- A28: parsing


def _follow_bytes(remote: FakeRemote, instance: RunningInstance) -> bytes:
    return json.dumps(follow_of(remote, instance)).encode()


MALFORMED_BODIES: dict[str, Callable[[FakeRemote, RunningInstance], bytes]] = {
    "truncated JSON": lambda r, i: _follow_bytes(r, i)[:-5],
    "nested 10,000 deep": lambda r, i: b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "top-level array": lambda r, i: b"[" + _follow_bytes(r, i) + b"]",
    "invalid UTF-8": lambda r, i: _follow_bytes(r, i).replace(b"Follow", b"F\xffollow"),
    "NaN": lambda r, i: _follow_bytes(r, i)[:-1] + b', "n": NaN}',
    "empty object": lambda r, i: b"{}",
    "no actor": lambda r, i: json.dumps(
        {k: v for k, v in follow_of(r, i).items() if k != "actor"}).encode(),
    "type is a list": lambda r, i: json.dumps({**follow_of(r, i), "type": ["Follow"]}).encode(),
    "lone surrogate in id": lambda r, i: _follow_bytes(r, i).replace(
        b'", "type"', b'\\ud800", "type"'),
    "lone surrogate in type": lambda r, i: _follow_bytes(r, i).replace(b"Follow", b"F\\udfffw"),
    "id is not a URL": lambda r, i: json.dumps({**follow_of(r, i), "id": "http://[oops/1"}).encode(),
    "actor is not a URL": lambda r, i: json.dumps({**follow_of(r, i),
                                                   "actor": "http://[oops"}).encode(),
}


@pytest.mark.parametrize("make", MALFORMED_BODIES.values(), ids=list(MALFORMED_BODIES))
async def test_signed_malformed_body_is_refused_with_400(instance, remote: HostileRemote,
                                                         bystander, make):
    """Correctly signed by alice, so each body gets past the signature checks."""
    body = make(remote, instance)
    before = await snapshot(instance)

    status, text = await post(signed(remote, body, instance.inbox,
                                     signer=remote.actors["alice"]["id"]))

    assert status == 400
    assert "Traceback" not in text
    assert remote.gets == []  # the envelope is checked before any key is fetched
    await assert_unharmed(instance, bystander, before)


def _padded_follow(remote: FakeRemote, instance: RunningInstance, **extra: Any) -> bytes:
    return json.dumps({**follow_of(remote, instance), **extra}, separators=(",", ":")).encode()


@pytest.mark.parametrize("make", [
    lambda r, i: _padded_follow(r, i, **{f"{n:x}": 0 for n in range(100_000)}),
    lambda r, i: _padded_follow(r, i, to=["a"] * 200_000),
], ids=["100k keys", "200k to entries"])
async def test_signed_body_with_too_many_members_is_refused_with_400(
        instance, remote: HostileRemote, make):
    body = make(remote, instance)
    assert len(body) <= MiB  # under the size limit: this is about counts

    status, _ = await post(signed(remote, body, instance.inbox,
                                  signer=remote.actors["alice"]["id"]))

    assert status == 400


# ---------------------------------------------------------------- A45: media type


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_post_that_is_not_activity_json_is_refused_with_415(
        instance, remote: HostileRemote, bystander, content_type):
    request = signed(remote, follow_of(remote, instance), instance.inbox,
                     content_type=content_type)
    before = await snapshot(instance)

    status, _ = await post(request)

    assert status == 415
    assert remote.gets == []
    await assert_unharmed(instance, bystander, before)


async def test_ld_json_with_the_activitystreams_profile_is_accepted(instance, remote):
    request = signed(remote, follow_of(remote, instance), instance.inbox,
                     content_type='application/ld+json; profile="https://www.w3.org/ns/activitystreams"')

    status, _ = await post(request)

    assert status == 202


# ---------------------------------------------------------------- A7: replays


async def test_same_activity_twice_is_accepted_and_applied_once(instance, remote: HostileRemote):
    follow = follow_of(remote, instance)

    first, _ = await remote.send(follow, instance.inbox)
    await process(instance)
    second, _ = await remote.send(follow, instance.inbox)
    await process(instance)

    assert (first, second) == (202, 202)
    assert await snapshot(instance) == Snapshot(inbox=1, followers=1, deliveries=1)
    assert [r.json["type"] for r in remote.received] == ["Accept"]


async def test_twenty_concurrent_copies_of_one_request_store_one_row(
        instance, remote: HostileRemote, bystander):
    request = signed(remote, follow_of(remote, instance), instance.inbox)

    answers = await asyncio.gather(*(post(request) for _ in range(20)))
    await process(instance)

    assert [status for status, _ in answers] == [202] * 20
    assert await snapshot(instance) == Snapshot(inbox=1, followers=1, deliveries=1)
    assert remote.gets == ["/users/alice"]  # one shared key fetch for all twenty
    await assert_unharmed(instance, bystander, await snapshot(instance))


async def test_waiters_still_get_the_key_when_the_first_sender_hangs_up(
        instance, remote: HostileRemote):
    """Rule 6: concurrent lookups share one fetch, even when its starter goes away.

    Quart cancels a handler whose client disconnects; if the shared fetch ran in
    that handler, everyone waiting on it would wait forever.
    """
    remote.hold = asyncio.Event()
    first = asyncio.create_task(post(signed(remote, follow_of(remote, instance),
                                            instance.inbox)))
    await asyncio.wait_for(remote.arrived.wait(), 5)  # the key fetch has started
    second = asyncio.create_task(post(signed(remote, follow_of(remote, instance),
                                             instance.inbox)))
    await asyncio.sleep(0.2)  # let it join the fetch (if it does not, it fetches itself)

    first.cancel()  # the first sender hangs up
    await asyncio.gather(first, return_exceptions=True)
    remote.hold.set()
    status, _ = await asyncio.wait_for(second, 5)

    assert status == 202
    assert remote.gets == ["/users/alice"]


# ---------------------------------------------------------------- key rotation (rule 6)


class Clock:
    """Seconds since the epoch, moved on by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def clocked_directory(instance: RunningInstance) -> Clock:
    """Give the instance a key directory whose clock the test turns (instead of sleeping)."""
    s, clock = instance.services, Clock()
    s.directory = ActorDirectory(s.store, s.client, refetch_seconds=s.settings.key_refetch_seconds,
                                 failure_ttl_seconds=s.settings.fetch_failure_ttl_seconds,
                                 clock=clock)
    return clock


async def test_rotated_key_is_fetched_again_and_accepted(instance, remote: HostileRemote):
    clock = clocked_directory(instance)
    first, _ = await remote.send(follow_of(remote, instance), instance.inbox)
    alice, new_key = remote.actors["alice"]["id"], shared_key(3)
    remote.keys[alice] = new_key
    remote.actors["alice"]["publicKey"]["publicKeyPem"] = public_key_pem(new_key)
    clock.advance(instance.settings.key_refetch_seconds)

    second, _ = await remote.send(follow_of(remote, instance), instance.inbox)

    assert (first, second) == (202, 202)
    assert remote.gets == ["/users/alice", "/users/alice"]
    assert await instance.services.store.inbox_activity_count() == 2


async def test_bad_signatures_refetch_the_key_at_most_once_per_interval(
        instance, remote: HostileRemote, bystander):
    clock = clocked_directory(instance)
    await remote.send(follow_of(remote, instance), instance.inbox)  # alice's key is cached
    await process(instance)
    before = await snapshot(instance)
    forger = shared_key(2)

    async def forge() -> int:
        status, _ = await post(signed(remote, follow_of(remote, instance), instance.inbox,
                                      key=forger))
        return status

    clock.advance(instance.settings.key_refetch_seconds)
    first_round = [await forge() for _ in range(5)] + list(
        await asyncio.gather(*(forge() for _ in range(10))))
    gets_after_first_round = len(remote.gets)
    clock.advance(instance.settings.key_refetch_seconds)
    second_round = [await forge() for _ in range(5)]

    assert first_round + second_round == [401] * 20
    assert gets_after_first_round == 2  # the first fetch, one refetch
    assert len(remote.gets) == 3  # and one more in the next interval
    await assert_unharmed(instance, bystander, before)


# ---------------------------------------------------------------- A14–A16: origin


def _create_note(remote: FakeRemote, instance: RunningInstance, **note: Any) -> dict[str, Any]:
    alice = f"{remote.base}/users/alice"
    return {"id": f"{remote.base}/statuses/{uuid.uuid4()}/activity", "type": "Create",
            "actor": alice, "object": {"id": f"{remote.base}/statuses/1", "type": "Note",
                                       "attributedTo": alice, "content": "hi", **note}}


def _undo_follow_by(remote: FakeRemote, instance: RunningInstance, inner_actor: str
                    ) -> dict[str, Any]:
    undo = remote.fixture("mastodon-undo-follow.json", instance)
    undo["object"]["actor"] = inner_actor
    return undo


ORIGIN_VIOLATIONS: dict[str, Callable[[FakeRemote, RunningInstance], dict[str, Any]]] = {
    "A14 note on a third host": lambda r, i: _create_note(r, i, id="https://third.test/notes/1"),
    "A14 note on our host": lambda r, i: _create_note(r, i, id=f"{i.url}/notes/1"),
    "A15 note attributed to our actor": lambda r, i: _create_note(r, i, attributedTo=i.actor_id),
    "A15 note attributed to bob": lambda r, i: _create_note(
        r, i, attributedTo=f"{r.base}/users/bob"),
    "A16 undo of bob's follow": lambda r, i: _undo_follow_by(r, i, f"{r.base}/users/bob"),
    "A16 undo of our actor's activity": lambda r, i: _undo_follow_by(r, i, i.actor_id),
    "A16 delete of our actor": lambda r, i: {
        "id": f"{r.base}/d/1", "type": "Delete", "actor": f"{r.base}/users/alice",
        "object": i.actor_id},
    "activity id on another host": lambda r, i: {
        **follow_of(r, i), "id": f"https://third.test/{uuid.uuid4()}"},
}


@pytest.mark.parametrize("make", ORIGIN_VIOLATIONS.values(), ids=list(ORIGIN_VIOLATIONS))
async def test_activity_about_objects_that_are_not_the_actors_is_refused_with_403(
        instance, remote: HostileRemote, bystander, make):
    """Validly signed by alice: a signature proves who sent it, not what it may speak for."""
    activity = make(remote, instance)
    before = await snapshot(instance)

    status, _ = await remote.send(activity, instance.inbox)

    assert status == 403
    await assert_unharmed(instance, bystander, before)


async def test_create_whose_object_id_is_not_a_url_is_refused_with_400(
        instance, remote: HostileRemote, bystander):
    before = await snapshot(instance)

    status, _ = await remote.send(_create_note(remote, instance, id="http://[oops/1"),
                                  instance.inbox)

    assert status == 400
    await assert_unharmed(instance, bystander, before)


async def test_undo_follow_by_a_non_follower_is_acknowledged_and_changes_nothing(
        instance, remote: HostileRemote):
    """A16: Mastodon sends these after a lost Accept; 202, and no follower appears."""
    status, _ = await remote.send(remote.fixture("mastodon-undo-follow.json", instance),
                                  instance.inbox)
    await process(instance)

    assert status == 202
    assert await snapshot(instance) == Snapshot(inbox=1, followers=0, deliveries=0)


# ---------------------------------------------------------------- A13, A36: gone and blocked


async def test_delete_of_an_actor_we_never_knew_is_acknowledged_without_fetching(
        instance, remote: HostileRemote, bystander):
    """A36: the actor's document already answers 410; Mastodon sends this to everyone."""
    remote.actors.pop("alice")
    before = await snapshot(instance)

    status, _ = await remote.send(remote.fixture("mastodon-delete-actor.json", instance),
                                  instance.inbox)

    assert status == 202
    assert remote.gets == []
    await assert_unharmed(instance, bystander, before)


async def test_actor_of_a_blocked_domain_is_refused_with_403_without_fetching(
        instance, remote: HostileRemote, bystander):
    await instance.services.store.block_domain("127.0.0.1", time.time())
    before = await snapshot(instance)

    status, _ = await remote.send(follow_of(remote, instance), instance.inbox)

    assert status == 403
    assert remote.gets == []
    await assert_unharmed(instance, bystander, before)


async def test_deleted_actor_is_refused_with_401(instance, remote: HostileRemote, bystander):
    """A13: after alice's Delete, her cached key signs nothing any more."""
    await remote.send(follow_of(remote, instance), instance.inbox)
    await process(instance)
    deleted, _ = await remote.send(remote.fixture("mastodon-delete-actor.json", instance),
                                   instance.inbox)
    await process(instance)
    before = await snapshot(instance)
    gets = list(remote.gets)

    status, _ = await remote.send(follow_of(remote, instance), instance.inbox)

    assert deleted == 202
    assert before.followers == 0
    assert status == 401
    assert remote.gets == gets
    await assert_unharmed(instance, bystander, before)


# ---------------------------------------------------------------- personal inboxes


async def test_post_to_the_inbox_of_an_unknown_user_is_refused_with_404(
        instance, remote: HostileRemote, bystander):
    url = f"{instance.url}/users/nobody/inbox"
    before = await snapshot(instance)

    status, _ = await post(signed(remote, follow_of(remote, instance), url))

    assert status == 404
    assert remote.gets == []
    await assert_unharmed(instance, bystander, before)
