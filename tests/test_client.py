"""The outgoing client against real listeners on loopback.

Fake peers are aiohttp apps or raw asyncio servers on 127.0.0.1:0. A canary
listener counts accepted connections: an address refusal is only proven when the
canary saw none (security.md A30-A33, A17, A27, A38).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from activitypub.client import Client, FetchPolicy, PostResult, RequestSigner
from activitypub.errors import AddressNotAllowed, FetchError, TemporaryFetchError
from activitypub.httpsig import check_request, verify
from activitypub.vocab import ACCEPT_AS2, AS2_CONTENT_TYPE, LD_PROFILE_CONTENT_TYPE

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
USER_AGENT = "Peiling/test (+https://library.test/)"
KEY_ID = "https://library.test/actor#main-key"
LOOPBACK = FetchPolicy(allow_http=True, allow_loopback=True)
HASTY = FetchPolicy(
    allow_http=True, allow_loopback=True, connect_timeout=0.5, read_timeout=0.5, total_timeout=2
)
MiB = 1_048_576

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def private_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signer(private_key: RSAPrivateKey) -> RequestSigner:
    return RequestSigner(KEY_ID, private_key)


@pytest.fixture
async def make_client(signer: RequestSigner) -> AsyncIterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(policy: FetchPolicy = LOOPBACK, **options: Any) -> Client:
        options.setdefault("signer", signer)
        client = Client(policy, user_agent=USER_AGENT, clock=lambda: NOW, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@dataclass
class Canary:
    """A listener that only counts accepted connections: any count above zero is an SSRF."""

    port: int = 0
    connections: int = 0

    def accept(self) -> asyncio.Protocol:
        self.connections += 1
        return Hangup()


class Hangup(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    listener = Canary()
    server = await asyncio.get_running_loop().create_server(listener.accept, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    yield listener
    server.close()
    await server.wait_closed()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Remote:
    """A fake peer: its routes are fixed at start, and it records every request."""

    port: int = 0
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[Remote]]]:
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler]) -> Remote:
        remote = Remote()

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            body = await request.read()
            remote.requests.append(
                Seen(request.method, request.path_qs, dict(request.headers), body)
            )
            return await handler(request)

        app = web.Application(middlewares=[record])
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        remote.port = runner.addresses[0][1]
        return remote

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def serve_raw() -> AsyncIterator[Callable[[RawHandler], Awaitable[int]]]:
    """Byte-level peers, for the misbehaviour aiohttp.web will not produce.

    Each connection's handler runs as its own task, cancelled at teardown; the
    stream callback itself is never cancelled (Python 3.11 logs that as an error).
    """
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Future[None]] = set()
    connections: set[asyncio.Task[Any]] = set()

    async def start(handler: RawHandler) -> int:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.add(asyncio.current_task())  # type: ignore[arg-type]
            work = asyncio.ensure_future(answer(reader, writer))
            handlers.add(work)
            try:
                await work
            except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(run, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for work in handlers:
        work.cancel()
    await asyncio.gather(*handlers, *connections, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


class ScriptedResolver(AbstractResolver):
    """Answers any name with the next scripted address list (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in addresses
        ]

    async def close(self) -> None:
        pass


# ---------------------------------------------------------------- fake responses


def document(body: Any, content_type: str = AS2_CONTENT_TYPE, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers={"Content-Type": content_type}
    )


async def actor(request: web.Request) -> web.Response:
    """An actor whose id is the URL it was fetched at, as a genuine peer serves it."""
    return document({"id": str(request.url), "type": "Person", "inbox": "/inbox"})


def answer_with(status: int) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Content-Type": AS2_CONTENT_TYPE})

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return handler


def verified(seen: Seen, public_key: rsa.RSAPublicKey, host: str, body: bytes | None) -> str:
    """Check a recorded request's signature the way an inbox would; return its keyId."""
    params = check_request(
        seen.method,
        seen.path,
        seen.headers,
        body,
        expected_host=host,
        now=NOW,
        window=timedelta(hours=1),
    )
    verify(params, seen.method, seen.path, seen.headers, public_key)
    return params.key_id


# ---------------------------------------------------------------- fetch_object: happy paths


async def test_fetch_object_returns_signed_as2_document(
    serve: Any, make_client: Callable[..., Client], private_key: RSAPrivateKey
) -> None:
    remote = await serve({"/users/alice": actor})

    got = await make_client().fetch_object(remote.url("/users/alice"))

    assert got["id"] == remote.url("/users/alice")
    [seen] = remote.requests
    assert seen.headers["Accept"] == ACCEPT_AS2
    assert seen.headers["User-Agent"] == USER_AGENT
    host = f"127.0.0.1:{remote.port}"
    assert verified(seen, private_key.public_key(), host, None) == KEY_ID


async def test_signer_argument_overrides_default_signer(
    serve: Any, make_client: Callable[..., Client], private_key: RSAPrivateKey
) -> None:
    remote = await serve({"/users/alice": actor})
    other = RequestSigner("https://library.test/users/bob#main-key", private_key)

    await make_client().fetch_object(remote.url("/users/alice"), signer=other)

    host = f"127.0.0.1:{remote.port}"
    assert verified(remote.requests[0], private_key.public_key(), host, None) == other.key_id


async def test_fetch_without_any_signer_is_unsigned(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/users/alice": actor})

    await make_client(signer=None).fetch_object(remote.url("/users/alice"))

    assert "Signature" not in remote.requests[0].headers


async def test_fragment_is_dropped_before_fetching_and_comparing(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/users/alice": actor})

    got = await make_client().fetch_object(remote.url("/users/alice#main-key"))

    assert got["id"] == remote.url("/users/alice")
    assert remote.paths == ["/users/alice"]


@pytest.mark.parametrize(
    "content_type",
    [
        AS2_CONTENT_TYPE,
        "application/activity+json; charset=utf-8",
        LD_PROFILE_CONTENT_TYPE,
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams https://x.test/ext"',
    ],
)
async def test_as2_content_types_are_accepted(
    serve: Any, make_client: Callable[..., Client], content_type: str
) -> None:
    async def typed(request: web.Request) -> web.Response:
        return document({"id": str(request.url), "type": "Person"}, content_type)

    remote = await serve({"/actor": typed})

    assert (await make_client().fetch_object(remote.url("/actor")))["type"] == "Person"


async def test_same_host_redirect_is_followed_and_re_signed(
    serve: Any, make_client: Callable[..., Client], private_key: RSAPrivateKey
) -> None:
    remote = await serve({"/old": redirect("/users/alice", 301), "/users/alice": actor})

    got = await make_client().fetch_object(remote.url("/old"))

    assert got["id"] == remote.url("/users/alice")
    first, second = remote.requests
    host = f"127.0.0.1:{remote.port}"
    verified(first, private_key.public_key(), host, None)
    verified(second, private_key.public_key(), host, None)
    assert first.headers["Signature"] != second.headers["Signature"]


async def test_three_redirects_are_followed(serve: Any, make_client: Callable[..., Client]) -> None:
    remote = await serve({"/hop/{n}": hop_chain(last=10), "/hop/10": actor})

    got = await make_client().fetch_object(remote.url("/hop/7"))

    assert got["id"] == remote.url("/hop/10")
    assert remote.paths == ["/hop/7", "/hop/8", "/hop/9", "/hop/10"]


def hop_chain(last: int) -> Handler:
    """/hop/n redirects to /hop/n+1 until `last`, which some other route serves."""

    async def handler(request: web.Request) -> web.Response:
        step = int(request.match_info["n"])
        if step >= last:
            return await actor(request)
        return web.Response(status=302, headers={"Location": f"/hop/{step + 1}"})

    return handler


# ---------------------------------------------------------------- A17: spoofed documents


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/ld+json", "text/html", ""]
)
async def test_non_as2_content_type_is_refused(
    serve: Any, make_client: Callable[..., Client], content_type: str
) -> None:
    async def typed(request: web.Request) -> web.Response:
        return document({"id": str(request.url), "type": "Person"}, content_type)

    remote = await serve({"/actor": typed})

    with pytest.raises(FetchError, match="content type"):
        await make_client().fetch_object(remote.url("/actor"))


@pytest.mark.parametrize(
    "claimed",
    [
        lambda url: "https://evil.test/users/alice",
        lambda url: url.replace("/users/alice", "/users/mallory"),
        lambda url: url + "#main-key",
        lambda url: None,
        lambda url: ["not", "a", "string"],
    ],
)
async def test_document_that_names_another_id_is_refused(
    serve: Any, make_client: Callable[..., Client], claimed: Callable[[str], Any]
) -> None:
    async def impostor(request: web.Request) -> web.Response:
        return document({"id": claimed(str(request.url)), "type": "Person"})

    remote = await serve({"/users/alice": impostor})

    with pytest.raises(FetchError, match="document id"):
        await make_client().fetch_object(remote.url("/users/alice"))


async def test_redirect_to_another_host_serving_valid_actor_is_refused(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    elsewhere = await serve({"/users/alice": actor})
    remote = await serve({"/users/alice": redirect(elsewhere.url("/users/alice"))})

    with pytest.raises(FetchError, match="another host") as refused:
        await make_client().fetch_object(remote.url("/users/alice"))

    assert refused.value.status == 302
    assert elsewhere.requests == []


async def test_redirect_from_http_to_https_on_same_host_is_refused(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/actor": redirect("https://127.0.0.1/actor")})

    with pytest.raises(FetchError, match="another host"):
        await make_client().fetch_object(remote.url("/actor"))


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"id": NaN}', b"[" * 5000 + b"]" * 5000]
)
async def test_unparseable_document_is_a_fetch_error(
    serve: Any, make_client: Callable[..., Client], body: bytes
) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": AS2_CONTENT_TYPE})

    remote = await serve({"/actor": garbage})

    with pytest.raises(FetchError, match="unusable document"):
        await make_client().fetch_object(remote.url("/actor"))


@pytest.mark.parametrize("status", [201, 203, 204, 300, 304, 400, 401, 403, 404, 410])
async def test_status_other_than_200_is_refused_for_good(
    serve: Any, make_client: Callable[..., Client], status: int
) -> None:
    remote = await serve({"/actor": answer_with(status)})

    with pytest.raises(FetchError) as refused:
        await make_client().fetch_object(remote.url("/actor"))

    assert refused.value.status == status
    assert not isinstance(refused.value, TemporaryFetchError)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_overload_and_server_errors_are_temporary(
    serve: Any, make_client: Callable[..., Client], status: int
) -> None:
    remote = await serve({"/actor": answer_with(status)})

    with pytest.raises(TemporaryFetchError) as refused:
        await make_client().fetch_object(remote.url("/actor"))

    assert refused.value.status == status


# ---------------------------------------------------------------- A30, A31, A38: addresses


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "127.0.0.1.",
        "localhost",
    ],
)
async def test_production_never_connects_to_loopback_in_any_spelling(
    canary: Canary, make_client: Callable[..., Client], host: str
) -> None:
    client = make_client(FetchPolicy())

    with pytest.raises(FetchError) as refused:
        await client.fetch_object(f"https://{host}:{canary.port}/actor")

    assert not isinstance(refused.value, TemporaryFetchError)
    assert canary.connections == 0


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://10.0.0.1/"]
)
async def test_private_literals_are_refused_even_with_loopback_allowed(
    make_client: Callable[..., Client], url: str
) -> None:
    with pytest.raises(AddressNotAllowed):
        await make_client().fetch_object(url)


async def test_production_refuses_plain_http(
    canary: Canary, make_client: Callable[..., Client]
) -> None:
    resolver = ScriptedResolver(["8.8.8.8"])

    with pytest.raises(AddressNotAllowed, match="scheme"):
        await make_client(FetchPolicy(), resolver=resolver).fetch_object("http://masto.test/a")

    assert resolver.calls == 0


async def test_name_resolving_to_loopback_is_refused_without_connecting(
    canary: Canary, make_client: Callable[..., Client]
) -> None:
    client = make_client(FetchPolicy(), resolver=ScriptedResolver(["127.0.0.1"]))

    with pytest.raises(AddressNotAllowed, match=r"evil\.test"):
        await client.fetch_object(f"https://evil.test:{canary.port}/users/alice")

    assert canary.connections == 0


async def test_name_with_public_and_loopback_records_is_refused_whole(
    canary: Canary, make_client: Callable[..., Client]
) -> None:
    client = make_client(FetchPolicy(), resolver=ScriptedResolver(["8.8.8.8", "127.0.0.1"]))

    with pytest.raises(AddressNotAllowed):
        await client.fetch_object(f"https://evil.test:{canary.port}/users/alice")

    assert canary.connections == 0


async def test_dns_rebinding_is_caught_on_the_next_connection(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    async def closing_actor(request: web.Request) -> web.Response:
        response = await actor(request)
        response.force_close()
        return response

    remote = await serve({"/users/alice": closing_actor})
    resolver = ScriptedResolver(["127.0.0.1"], ["0.0.0.0"])
    client = make_client(resolver=resolver)
    url = remote.url("/users/alice", host="fake.test")

    first = await client.fetch_object(url)
    with pytest.raises(AddressNotAllowed, match="0.0.0.0"):
        await client.fetch_object(url)

    assert first["id"] == url
    assert resolver.calls == 2
    assert len(remote.requests) == 1


async def test_loopback_by_name_is_allowed_only_in_loopback_mode(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/users/alice": actor})
    url = remote.url("/users/alice", host="fake.test")
    resolver = ScriptedResolver(["127.0.0.1"])

    got = await make_client(resolver=resolver).fetch_object(url)

    assert got["id"] == url
    with pytest.raises(AddressNotAllowed):
        await make_client(FetchPolicy(allow_http=True), resolver=resolver).fetch_object(url)


# ---------------------------------------------------------------- A32: redirects


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/actor",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{canary}/actor",
        "http://[::ffff:127.0.0.1]:{canary}/actor",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{canary}/_",
        "data:application/activity+json,{{}}",
        "ftp://127.0.0.1:{canary}/actor",
    ],
)
async def test_redirect_to_forbidden_address_or_scheme_is_refused(
    serve: Any, canary: Canary, make_client: Callable[..., Client], location: str
) -> None:
    remote = await serve({"/actor": redirect(location.format(canary=canary.port))})

    with pytest.raises(AddressNotAllowed):
        await make_client().fetch_object(remote.url("/actor"))

    assert canary.connections == 0
    assert remote.paths == ["/actor"]


async def test_redirect_to_another_port_is_refused_without_connecting(
    serve: Any, canary: Canary, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/actor": redirect(f"http://127.0.0.1:{canary.port}/actor")})

    with pytest.raises(FetchError, match="another host"):
        await make_client().fetch_object(remote.url("/actor"))

    assert canary.connections == 0


async def test_ten_hop_chain_is_abandoned_after_three_redirects(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    remote = await serve({"/hop/{n}": hop_chain(last=10)})

    with pytest.raises(FetchError, match="more than 3 redirects"):
        await make_client().fetch_object(remote.url("/hop/0"))

    assert remote.paths == ["/hop/0", "/hop/1", "/hop/2", "/hop/3"]


@pytest.mark.parametrize("location", ["/loop", "/loop#again", "{url}"])
async def test_redirect_to_itself_is_a_loop(
    serve: Any, make_client: Callable[..., Client], location: str
) -> None:
    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": location.format(url=request.url)})

    remote = await serve({"/loop": loop})

    with pytest.raises(FetchError, match="loop"):
        await make_client().fetch_object(remote.url("/loop"))

    assert remote.paths == ["/loop"]


async def test_two_step_loop_is_detected(serve: Any, make_client: Callable[..., Client]) -> None:
    remote = await serve({"/a": redirect("/b"), "/b": redirect("/a")})

    with pytest.raises(FetchError, match="loop"):
        await make_client().fetch_object(remote.url("/a"))

    assert remote.paths == ["/a", "/b"]


async def test_redirect_without_location_is_refused(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    async def bare(request: web.Request) -> web.Response:
        return web.Response(status=302)

    remote = await serve({"/actor": bare})

    with pytest.raises(FetchError, match="Location"):
        await make_client().fetch_object(remote.url("/actor"))


# ---------------------------------------------------------------- A27, A33: size and time


async def test_endless_chunked_body_is_cut_at_the_cap(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    sent = 0

    async def fifty_megabytes(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": AS2_CONTENT_TYPE})
        await response.prepare(request)
        chunk = b" " * 65_536
        while sent < 50 * MiB:
            await response.write(chunk)
            sent += len(chunk)
        return response

    remote = await serve({"/actor": fifty_megabytes})

    with pytest.raises(FetchError, match="over 1048576 bytes"):
        await make_client().fetch_object(remote.url("/actor"))

    assert sent < 16 * MiB


async def test_body_of_exactly_the_cap_is_read(
    serve: Any, make_client: Callable[..., Client]
) -> None:
    async def padded(request: web.Request) -> web.Response:
        body = json.dumps({"id": str(request.url), "type": "Person"}).encode()
        return web.Response(body=body.ljust(1000), headers={"Content-Type": AS2_CONTENT_TYPE})

    remote = await serve({"/actor": padded})

    at_cap = make_client(FetchPolicy(allow_http=True, allow_loopback=True, max_bytes=1000))
    under_cap = make_client(FetchPolicy(allow_http=True, allow_loopback=True, max_bytes=999))

    assert await at_cap.fetch_object(remote.url("/actor"))
    with pytest.raises(FetchError, match="over 999"):
        await under_cap.fetch_object(remote.url("/actor"))


async def test_huge_content_length_is_refused_before_reading(
    serve_raw: Any, make_client: Callable[..., Client]
) -> None:
    async def claims_ten_gigabytes(reader: Any, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
            b"Content-Length: 10000000000\r\n\r\n{"
        )
        await writer.drain()
        await asyncio.Event().wait()

    port = await serve_raw(claims_ten_gigabytes)
    started = time.monotonic()

    with pytest.raises(FetchError, match="10000000000 bytes") as refused:
        await make_client(HASTY).fetch_object(f"http://127.0.0.1:{port}/actor")

    assert not isinstance(refused.value, TemporaryFetchError)
    assert time.monotonic() - started < HASTY.read_timeout


async def trickle(writer: asyncio.StreamWriter, every: float) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    while True:
        writer.write(b"1\r\n \r\n")
        await writer.drain()
        await asyncio.sleep(every)


async def test_body_at_one_byte_a_second_hits_the_read_timeout(
    serve_raw: Any, make_client: Callable[..., Client]
) -> None:
    port = await serve_raw(lambda reader, writer: trickle(writer, every=1.0))
    started = time.monotonic()

    with pytest.raises(TemporaryFetchError):
        await make_client(HASTY).fetch_object(f"http://127.0.0.1:{port}/actor")

    assert time.monotonic() - started < 1.5


async def test_steady_trickle_hits_the_total_timeout(
    serve_raw: Any, make_client: Callable[..., Client]
) -> None:
    port = await serve_raw(lambda reader, writer: trickle(writer, every=0.1))
    started = time.monotonic()

    with pytest.raises(TemporaryFetchError):
        await make_client(HASTY).fetch_object(f"http://127.0.0.1:{port}/actor")

    assert HASTY.total_timeout - 0.5 < time.monotonic() - started < HASTY.total_timeout + 1


async def test_silent_server_hits_the_read_timeout(
    serve_raw: Any, make_client: Callable[..., Client]
) -> None:
    port = await serve_raw(lambda reader, writer: asyncio.Event().wait())

    with pytest.raises(TemporaryFetchError):
        await make_client(HASTY).fetch_object(f"http://127.0.0.1:{port}/actor")


async def test_closed_port_is_temporary(make_client: Callable[..., Client]) -> None:
    with pytest.raises(TemporaryFetchError):
        await make_client().fetch_object(f"http://127.0.0.1:{closed_port()}/actor")


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- fetch_json


@pytest.mark.parametrize(
    "content_type",
    ["application/jrd+json", "application/json; charset=utf-8", "application/activity+json"],
)
async def test_fetch_json_reads_discovery_document_unsigned(
    serve: Any, make_client: Callable[..., Client], content_type: str
) -> None:
    jrd = {"subject": "acct:alice@masto.test", "links": []}

    async def webfinger(request: web.Request) -> web.Response:
        return document(jrd, content_type)

    remote = await serve({"/.well-known/webfinger": webfinger})
    accept = "application/jrd+json, application/json"
    url = remote.url("/.well-known/webfinger?resource=acct:alice@masto.test")

    assert await make_client().fetch_json(url, accept=accept) == jrd
    [seen] = remote.requests
    assert seen.headers["Accept"] == accept
    assert seen.headers["User-Agent"] == USER_AGENT
    assert "Signature" not in seen.headers


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/xrd+xml"])
async def test_fetch_json_refuses_non_json(
    serve: Any, make_client: Callable[..., Client], content_type: str
) -> None:
    async def page(request: web.Request) -> web.Response:
        return document({"subject": "acct:alice@masto.test"}, content_type)

    remote = await serve({"/.well-known/nodeinfo": page})

    with pytest.raises(FetchError, match="content type"):
        await make_client().fetch_json(remote.url("/.well-known/nodeinfo"), accept="*/*")


async def test_fetch_json_follows_the_same_address_rules(
    canary: Canary, make_client: Callable[..., Client]
) -> None:
    client = make_client(FetchPolicy(), resolver=ScriptedResolver(["127.0.0.1"]))

    with pytest.raises(AddressNotAllowed):
        await client.fetch_json(
            f"https://evil.test:{canary.port}/.well-known/nodeinfo", accept="*/*"
        )

    assert canary.connections == 0


# ---------------------------------------------------------------- post


ACTIVITY = json.dumps({"type": "Create", "id": "https://library.test/activities/1"}).encode()


async def test_post_is_signed_with_digest(
    serve: Any, make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    async def inbox(request: web.Request) -> web.Response:
        return web.Response(status=202)

    remote = await serve({"/inbox": inbox})

    result = await make_client(signer=None).post(remote.url("/inbox"), ACTIVITY, signer=signer)

    assert result == PostResult(status=202, retry_after=None, reason="202 Accepted")
    [seen] = remote.requests
    assert seen.body == ACTIVITY
    assert seen.headers["Content-Type"] == AS2_CONTENT_TYPE
    assert seen.headers["User-Agent"] == USER_AGENT
    assert seen.headers["Digest"].startswith("SHA-256=")
    public_key = signer.private_key.public_key()
    assert verified(seen, public_key, f"127.0.0.1:{remote.port}", ACTIVITY) == KEY_ID


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (500, "120", 120.0),
        (429, "120", 120.0),
        (429, format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (503, format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        (429, "soon", None),
        (429, "-5", None),
        (500, None, None),
    ],
)
async def test_post_reports_retry_after(
    serve: Any,
    make_client: Callable[..., Client],
    signer: RequestSigner,
    status: int,
    retry_after: str | None,
    expected: float | None,
) -> None:
    async def busy(request: web.Request) -> web.Response:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return web.Response(status=status, headers=headers, text="slow down")

    remote = await serve({"/inbox": busy})

    result = await make_client().post(remote.url("/inbox"), ACTIVITY, signer=signer)

    assert (result.status, result.retry_after) == (status, expected)


async def test_post_reason_is_status_line_and_start_of_body(
    serve: Any, make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=401, text="Verification failed\n" + "x" * 5000)

    remote = await serve({"/inbox": refuse})

    result = await make_client().post(remote.url("/inbox"), ACTIVITY, signer=signer)

    assert result.reason.startswith("401 Unauthorized: Verification failed xxx")
    assert len(result.reason) == len("401 Unauthorized: ") + 200


async def test_post_does_not_follow_redirects(
    serve: Any, make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    remote = await serve({"/inbox": redirect("/elsewhere", 308), "/elsewhere": actor})

    result = await make_client().post(remote.url("/inbox"), ACTIVITY, signer=signer)

    assert result.status == 308
    assert remote.paths == ["/inbox"]


async def test_post_reads_only_the_start_of_an_endless_answer(
    serve: Any, make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400)
        await response.prepare(request)
        while True:
            await response.write(b"e" * 65_536)

    remote = await serve({"/inbox": endless})

    result = await make_client(HASTY).post(remote.url("/inbox"), ACTIVITY, signer=signer)

    assert result.status == 400


async def test_post_to_hanging_inbox_is_temporary(
    serve_raw: Any, make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    port = await serve_raw(lambda reader, writer: asyncio.Event().wait())
    started = time.monotonic()

    with pytest.raises(TemporaryFetchError):
        await make_client(HASTY).post(f"http://127.0.0.1:{port}/inbox", ACTIVITY, signer=signer)

    assert time.monotonic() - started < HASTY.total_timeout


async def test_post_to_closed_port_is_temporary(
    make_client: Callable[..., Client], signer: RequestSigner
) -> None:
    with pytest.raises(TemporaryFetchError):
        await make_client().post(f"http://127.0.0.1:{closed_port()}/inbox", ACTIVITY, signer=signer)


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["10.0.0.1"], ["8.8.8.8", "127.0.0.1"]])
async def test_post_never_delivers_to_private_inbox(
    canary: Canary,
    make_client: Callable[..., Client],
    signer: RequestSigner,
    answer: list[str],
) -> None:
    client = make_client(FetchPolicy(), resolver=ScriptedResolver(answer))

    with pytest.raises(AddressNotAllowed):
        await client.post(f"https://127.0.0.1:{canary.port}/inbox", ACTIVITY, signer=signer)
    with pytest.raises(AddressNotAllowed):
        await client.post(f"https://evil.test:{canary.port}/inbox", ACTIVITY, signer=signer)

    assert canary.connections == 0


# ---------------------------------------------------------------- lifecycle


async def test_client_closes_as_a_context_manager(serve: Any, signer: RequestSigner) -> None:
    remote = await serve({"/users/alice": actor})

    async with Client(LOOPBACK, user_agent=USER_AGENT, signer=signer, clock=lambda: NOW) as c:
        await c.fetch_object(remote.url("/users/alice"))
    await c.close()
