"""Outgoing HTTP: signed GETs of remote documents and signed POSTs to inboxes.

Every URL this module sees was written by someone else, so it is where SSRF,
spoofed documents and slow peers are stopped (security.md rules 3, 7 and 8):
addresses are checked before and during connecting, redirects are followed by
hand so each hop is checked and signed, bodies are capped while they stream,
and a document only counts when it is AS2 and names the URL it came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from yarl import URL

from . import httpsig
from .addresses import GuardedResolver, check_url
from .errors import FetchError, MalformedError, TemporaryFetchError
from .jsonparse import parse_object
from .vocab import ACCEPT_AS2, AS2_CONTENT_TYPE, AS_CONTEXT, JsonObject

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
POST_RESPONSE_LIMIT = 65_536
REASON_CHARS = 200


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for outgoing requests; the defaults are production (security.md rule 7)."""

    allow_http: bool = False
    allow_loopback: bool = False
    max_bytes: int = 1_048_576
    max_redirects: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0


@dataclass(frozen=True)
class RequestSigner:
    """The actor key a request is signed with (cavage, rsa-sha256)."""

    key_id: str
    private_key: RSAPrivateKey


@dataclass(frozen=True)
class PostResult:
    """What an inbox answered; the delivery queue decides whether to retry."""

    status: int
    retry_after: float | None
    reason: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Client:
    """One pooled aiohttp session that applies a FetchPolicy to every request.

    The session is made on first use because aiohttp binds it to the running
    loop. The client owns `resolver` (the inner resolver behind the address
    guard) and closes it.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        user_agent: str,
        signer: RequestSigner | None = None,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], datetime] = _utc_now,
        limit_per_host: int = 8,
        limit: int = 100,
    ) -> None:
        self.policy = policy
        self._user_agent = user_agent
        self._signer = signer
        self._resolver = resolver
        self._clock = clock
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._http: aiohttp.ClientSession | None = None
        self._guard: GuardedResolver | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._guard is not None:
            await self._guard.close()
            self._guard = None

    async def fetch_object(self, url: str, *, signer: RequestSigner | None = None) -> JsonObject:
        """GET an AS2 document, accepted only if it names the URL it came from.

        Signed (by `signer`, else the client's default) because servers in
        authorized-fetch mode refuse anonymous GETs. The fragment is dropped, so
        a keyId such as `…/actor#main-key` fetches the actor whose id it must be.
        """
        final, document = await self.fetch_document(url, signer=signer)
        if not _names(document.get("id"), URL(final)):
            raise FetchError(f"document id {document.get('id')!r} is not {final}", status=200)
        return document

    async def fetch_document(
        self, url: str, *, signer: RequestSigner | None = None
    ) -> tuple[str, JsonObject]:
        """GET an AS2 document and the URL it finally came from, without the id check.

        For key documents only: GoToSocial serves a key at `…/main-key` inside a
        stub whose `id` is the actor, so the caller checks ownership instead.
        """
        final, body = await self._get(
            url, accept=ACCEPT_AS2, signer=signer or self._signer, acceptable=_is_as2
        )
        return str(final), _parse(body)

    async def fetch_json(self, url: str, *, accept: str) -> JsonObject:
        """Unsigned GET of a discovery document (WebFinger, NodeInfo).

        These are plain JSON with no id to check; Mastodon does not sign them
        either. Address, size and timeout rules are those of `fetch_object`, but
        a redirect may change host: servers whose account domain is not their
        web domain redirect WebFinger there, and what the JRD points at is then
        fetched (and its id checked) by `fetch_object`.
        """
        _final, body = await self._get(
            url, accept=accept, signer=None, acceptable=_is_json, same_origin=False
        )
        return _parse(body)

    async def post(self, url: str, body: bytes, *, signer: RequestSigner) -> PostResult:
        """Deliver `body` to an inbox and report what it answered.

        A 3xx is a result, not something to follow: the signature was made for
        this URL, and a delivery queue should not be steered elsewhere by it.
        """
        target = self._checked(url)
        headers = self._sign("POST", target, {"Content-Type": AS2_CONTENT_TYPE}, body, signer)
        with _transport_errors(target):
            async with self._session().post(
                target, data=body, headers=headers, allow_redirects=False
            ) as response:
                text = await _read_upto(response, POST_RESPONSE_LIMIT)
        retry_after = self._retry_after(response.headers.get("Retry-After"))
        return PostResult(response.status, retry_after, _reason(response, text))

    async def _get(
        self,
        url: str,
        *,
        accept: str,
        signer: RequestSigner | None,
        acceptable: Callable[[str], bool],
        same_origin: bool = True,
    ) -> tuple[URL, bytes]:
        """GET `url`, following redirects by hand so each hop is checked and re-signed.

        One deadline covers the whole chain, so redirects cannot multiply the
        time a worker is held.
        """
        target = self._checked(url)
        visited = {target}
        with _transport_errors(target):
            async with asyncio.timeout(self.policy.total_timeout):
                for _hop in range(self.policy.max_redirects + 1):
                    headers = self._sign("GET", target, {"Accept": accept}, None, signer)
                    async with self._session().get(
                        target, headers=headers, allow_redirects=False
                    ) as response:
                        if response.status not in REDIRECT_STATUSES:
                            _require_document(response, acceptable)
                            return target, await self._read_capped(response)
                        target = self._next_hop(target, response, visited, same_origin)
        raise FetchError(f"more than {self.policy.max_redirects} redirects from {url}")

    def _next_hop(
        self,
        current: URL,
        response: aiohttp.ClientResponse,
        visited: set[URL],
        same_origin: bool,
    ) -> URL:
        """The redirect target, refused when it comes back or (rule 3) leaves the origin."""
        location = response.headers.get("Location")
        if not location:
            raise FetchError("redirect without a Location", status=response.status)
        try:
            joined = str(current.join(URL(location)))
        except ValueError as exc:
            raise FetchError(f"bad redirect Location {location!r}", status=response.status) from exc
        target = self._checked(joined)
        if same_origin and target.origin() != current.origin():
            raise FetchError(f"redirect to another host: {target}", status=response.status)
        if target in visited:
            raise FetchError(f"redirect loop at {target}", status=response.status)
        visited.add(target)
        return target

    def _checked(self, url: str) -> URL:
        """The URL to request (fragment dropped), once its scheme and literal address pass."""
        check_url(url, allow_http=self.policy.allow_http, allow_loopback=self.policy.allow_loopback)
        return URL(url).with_fragment(None)

    def _sign(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: bytes | None,
        signer: RequestSigner | None,
    ) -> dict[str, str]:
        if signer is None:
            return headers
        return httpsig.sign(
            method,
            str(url),
            headers,
            body,
            key_id=signer.key_id,
            private_key=signer.private_key,
            now=self._clock(),
        )

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, refused by Content-Length before reading and by count while streaming."""
        limit = self.policy.max_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            raise FetchError(f"body of {declared} bytes is over {limit}", status=response.status)
        body = await _read_upto(response, limit + 1)
        if len(body) > limit:
            raise FetchError(f"body is over {limit} bytes", status=response.status)
        return body

    def _retry_after(self, value: str | None) -> float | None:
        """Seconds from Retry-After, which is delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
        if value is None:
            return None
        value = value.strip()
        if value.isascii() and value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._clock()).total_seconds())

    def _session(self) -> aiohttp.ClientSession:
        """The shared session; its resolver is asked for every new connection (no DNS cache)."""
        if self._http is None:
            self._guard = GuardedResolver(self._resolver, allow_loopback=self.policy.allow_loopback)
            connector = aiohttp.TCPConnector(
                resolver=self._guard,
                use_dns_cache=False,
                limit=self._limit,
                limit_per_host=self._limit_per_host,
            )
            timeout = aiohttp.ClientTimeout(
                total=self.policy.total_timeout,
                sock_connect=self.policy.connect_timeout,
                sock_read=self.policy.read_timeout,
            )
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=timeout, headers={"User-Agent": self._user_agent}
            )
        return self._http


@contextmanager
def _transport_errors(url: URL) -> Iterator[None]:
    """Map aiohttp failures onto our tree: network trouble may pass, a bad response will not."""
    try:
        yield
    except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        raise TemporaryFetchError(f"{url.host}: {str(exc) or type(exc).__name__}") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"{url.host}: {str(exc) or type(exc).__name__}") from exc


def _require_document(response: aiohttp.ClientResponse, acceptable: Callable[[str], bool]) -> None:
    """Only a 200 of the expected type is a document; 429 and 5xx may succeed later."""
    status = response.status
    if status == 429 or status >= 500:
        raise TemporaryFetchError(f"HTTP {status}", status=status)
    if status != 200:
        raise FetchError(f"HTTP {status}", status=status)
    content_type = response.headers.get("Content-Type", "")
    if not acceptable(content_type):
        raise FetchError(f"content type {content_type!r} is not acceptable", status=status)


async def _read_upto(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` bytes of the body; the rest is never read (the connection is dropped)."""
    body = bytearray()
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _media_type(header: str) -> tuple[str, str]:
    """The MIME type and its `profile` parameter; the email parser handles quoting."""
    message = Message()
    message["Content-Type"] = header
    profile = message.get_param("profile")
    return message.get_content_type(), profile if isinstance(profile, str) else ""


def _is_as2(header: str) -> bool:
    """AS2, as Mastodon decides it: a bare application/ld+json is not enough (§6.1)."""
    mime, profile = _media_type(header)
    return mime == AS2_CONTENT_TYPE or (mime == "application/ld+json" and AS_CONTEXT in profile)


def _is_json(header: str) -> bool:
    mime, _profile = _media_type(header)
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _parse(body: bytes) -> JsonObject:
    try:
        return parse_object(body)
    except MalformedError as exc:
        raise FetchError(f"unusable document: {exc}", status=200) from exc


def _names(ident: object, url: URL) -> bool:
    """True when the document's `id` is `url`, compared as parsed URLs."""
    if not isinstance(ident, str):
        return False
    try:
        return URL(ident) == url
    except ValueError:
        return False


def _reason(response: aiohttp.ClientResponse, body: bytes) -> str:
    """Status line and the start of the body, on one line, for logs and the delivery row."""
    excerpt = " ".join(body.decode("utf-8", "replace").split())[:REASON_CHARS]
    line = f"{response.status} {response.reason or ''}".rstrip()
    return f"{line}: {excerpt}" if excerpt else line
