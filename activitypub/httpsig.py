"""draft-cavage HTTP signatures with `Digest`, signed and checked the way Mastodon does.

Pure functions with the clock passed in, so no web framework and no sleeping in
tests. An inbox calls `check_request` first: it makes every check that needs no
key, so a stale, replayed or under-signed request is refused before we fetch an
actor. Only then does it look up the key for `keyId` and call `verify`.

Every refusal is a SignatureError whose short message goes back to the peer in
the 401 body; hostile input never escapes as any other exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from .errors import SignatureError

RSA_SHA256 = "rsa-sha256"
HS2019 = "hs2019"
ACCEPTED_ALGORITHMS = frozenset({RSA_SHA256, HS2019})
REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"
SHA256_SIZE = 32
# Mastodon: a signature lives `created + 5 min` unless (expires) says otherwise,
# and never longer than `created + 12 h`.
DEFAULT_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(hours=12)

# Headers that sign() sets itself; a caller's copy would be sent twice.
_SET_BY_SIGN = frozenset({"host", "date", "digest", "signature"})
_NUMERIC_PARAMS = frozenset({"created", "expires"})
_PARAM = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]{0,63})\s*=\s*(?:"([^"]*)"|(\d+(?:\.\d+)?))\s*(,|\Z)'
)
# What Mastodon (and `sign` above) send, exactly: read in one match. Anything else
# takes the general parser; both give the same parameters for this shape.
_MASTODON_SHAPE = re.compile(
    r'keyId="([^"]*)",algorithm="([^"]*)",headers="([^"]*)",signature="([^"]*)"'
)
# The one padding and hash an RSA signature here can use (see `verify`).
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
# Unix seconds, optionally with a fraction (the draft allows one); the digit cap
# keeps int() and the clock arithmetic away from absurd values.
_TIMESTAMP = re.compile(r"(\d{1,15})(?:\.\d{1,9})?")
_MAX_NAMES_SHOWN = 5


@dataclass(frozen=True)
class SignatureParams:
    """The parsed `Signature` header; `headers` are lower-cased, in signed order."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: int | None
    expires: int | None


def digest_header(body: bytes) -> str:
    """The `Digest` value Mastodon sends and expects: SHA-256 of the exact body bytes."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_string(
    method: str,
    target: str,
    headers: Mapping[str, str],
    covered: Sequence[str],
    *,
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The text that is signed: one `name: value` line per covered name, in the given order.

    The order is the peer's `headers=` (Mastodon puts `(request-target)` last),
    never ours. A line break inside a value is refused, so a value can never
    pose as a second signed line.
    """
    pseudo: dict[str, str | None] = {
        REQUEST_TARGET: f"{method.lower()} {target}",
        CREATED: None if created is None else str(created),
        EXPIRES: None if expires is None else str(expires),
    }
    lines = []
    for name in (n.lower() for n in covered):
        value = pseudo[name] if name in pseudo else _header(headers, name)
        if value is None:
            kind = "parameter" if name in pseudo else "header"
            raise SignatureError(f"{name} {kind} missing")
        if "\n" in value or "\r" in value:
            raise SignatureError(f"{name} contains a line break")
        lines.append(f"{name}: {value.strip()}")
    return "\n".join(lines)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key: RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    """The request headers plus Host, Date, Digest (with a body) and Signature.

    The covered list is what every Mastodon version accepts: `(request-target)`
    (path and query), host, date, digest on a body, and content-type when sent.
    """
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    signed = {k: v for k, v in headers.items() if k.lower() not in _SET_BY_SIGN}
    signed["Host"] = parts.netloc.rpartition("@")[2]
    signed["Date"] = format_datetime(_as_utc(now), usegmt=True)
    covered = [REQUEST_TARGET, "host", "date"]
    if body is not None:
        signed["Digest"] = digest_header(body)
        covered.append("digest")
    if _header(signed, "content-type") is not None:
        covered.append("content-type")
    text = signing_string(method, target, signed, covered)
    signature = private_key.sign(_encode(text), padding.PKCS1v15(), hashes.SHA256())
    signed["Signature"] = (
        f'keyId="{key_id}",algorithm="{RSA_SHA256}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return signed


def parse_signature(value: str) -> SignatureParams:
    """Parse a cavage `Signature` header value, refusing anything ambiguous.

    Duplicate parameters are refused (as Mastodon does since 4.5.5): two keyIds
    or two header lists would let the verifier and a logger disagree.
    """
    common = _MASTODON_SHAPE.fullmatch(value)
    raw = (dict(zip(("keyId", "algorithm", "headers", "signature"), common.groups(),
                    strict=True)) if common else _split_params(value))
    key_id = raw.get("keyId", "")
    if not key_id:
        raise SignatureError("keyId missing")
    encoded = raw.get("signature", "")
    if not encoded:
        raise SignatureError("signature missing")
    algorithm = raw.get("algorithm")
    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm,
        headers=_covered_names(raw.get("headers"), algorithm),
        signature=_decode_base64(encoded, "signature"),
        created=_timestamp(raw, "created"),
        expires=_timestamp(raw, "expires"),
    )


def check_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    expected_host: str,
    now: datetime,
    window: timedelta = timedelta(hours=1),
) -> SignatureParams:
    """Every check that needs no key, cheapest first (security.md rule 4).

    `body` is None only when the caller has no body to compare (a GET); the body
    hash comes last because it is the one check whose cost grows with the input.
    """
    value = _header(headers, "signature")
    if value is None:
        raise SignatureError("Request not signed")
    params = parse_signature(value)
    if params.algorithm is not None and params.algorithm.lower() not in ACCEPTED_ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {params.algorithm[:32]}")
    _check_coverage(params, method)
    _check_host(headers, expected_host)
    _check_time(params, headers, _as_utc(now), window)
    if body is not None and "digest" in params.headers:
        _check_digest(_header(headers, "digest"), body)
    return params


def verify(
    params: SignatureParams,
    method: str,
    target: str,
    headers: Mapping[str, str],
    public_key: PublicKeyTypes,
) -> None:
    """Check the signature bytes with the actor's key.

    The key type chooses the algorithm, never `algorithm=` (security.md rule 5):
    like Mastodon's cavage path, only RSA PKCS#1 v1.5 with SHA-256 is accepted,
    so an Ed25519 or EC key cannot be confused into verifying an RSA claim.
    """
    if not isinstance(public_key, RSAPublicKey):
        raise SignatureError("only RSA keys are supported")
    text = signing_string(
        method, target, headers, params.headers, created=params.created, expires=params.expires
    )
    try:
        public_key.verify(params.signature, _encode(text), _PKCS1V15, _SHA256)
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup, so a plain dict works as well as Quart's Headers. A
    verification looks up half a dozen headers: a mapping that answers `name` (in
    lower case) directly, as the inbox's does, spares a scan of all of them each time."""
    found = headers.get(name)
    if found is not None:
        return found
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _encode(text: str) -> bytes:
    """UTF-8 that cannot fail: a lone surrogate must not turn into a 500."""
    return text.encode("utf-8", "surrogatepass")


def _as_utc(now: datetime) -> datetime:
    """A naive clock would silently be read as local time and shift the window."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _split_params(value: str) -> dict[str, str]:
    """`name="value"` pairs separated by commas; created/expires may be bare numbers."""
    if not value.strip():
        raise SignatureError("Signature header is empty")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None or (match.group(4) == "," and match.end() == len(value)):
            raise SignatureError("Signature header is malformed")
        name, quoted, bare = match.group(1, 2, 3)
        if quoted is None and name not in _NUMERIC_PARAMS:
            raise SignatureError(f"{name} parameter must be quoted")
        if name in params:
            raise SignatureError(f"duplicate {name} parameter")
        params[name] = quoted if quoted is not None else bare
        pos = match.end()
    return params


def _is_hs2019(algorithm: str | None) -> bool:
    """Mastodon treats an absent algorithm as hs2019."""
    return algorithm is None or algorithm.lower() == HS2019


def _covered_names(raw: str | None, algorithm: str | None) -> tuple[str, ...]:
    """`headers=` lower-cased in order; when absent, the draft's default for the algorithm."""
    if raw is None:
        return (CREATED,) if _is_hs2019(algorithm) else ("date",)
    covered = tuple(name.lower() for name in raw.split())
    if not covered:
        raise SignatureError("headers parameter is empty")
    return covered


def _decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII input
        raise SignatureError(f"{what} is not valid base64") from exc


def _timestamp(raw: Mapping[str, str], name: str) -> int | None:
    text = raw.get(name)
    if text is None:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise SignatureError(f"{name} parameter is not a timestamp")
    return int(match.group(1))


def _check_coverage(params: SignatureParams, method: str) -> None:
    """Refuse signatures that leave the parts a replay would change unsigned (A3, A4, A10)."""
    covered = set(params.headers)
    if REQUEST_TARGET not in covered:
        raise SignatureError("(request-target) must be signed")
    if "host" not in covered:
        raise SignatureError("Host must be signed")
    signs_created = CREATED in covered and params.created is not None
    if "date" not in covered and not (signs_created and _is_hs2019(params.algorithm)):
        raise SignatureError("Date or (created) must be signed")
    if method.upper() == "POST" and "digest" not in covered:
        raise SignatureError("Digest must be signed")


def _check_host(headers: Mapping[str, str], expected_host: str) -> None:
    """A delivery captured at another server's inbox is refused here (A4)."""
    host = _header(headers, "host")
    if host is None or host.strip().lower() != expected_host.lower():
        raise SignatureError("Host header does not name this server")


def _check_time(
    params: SignatureParams, headers: Mapping[str, str], now: datetime, window: timedelta
) -> None:
    """Mastodon's window: in effect Date within [now - 65 min, now + 60 min] (A6)."""
    created = _created_at(params, headers)
    margin = window.total_seconds()
    if created > now.timestamp() + margin:
        raise SignatureError("Date is too far in the future")
    if now.timestamp() > _expires_at(params, created) + margin:
        raise SignatureError("Signature has expired")


def _created_at(params: SignatureParams, headers: Mapping[str, str]) -> int:
    if CREATED in params.headers:
        if params.created is None:
            raise SignatureError("(created) parameter missing")
        return params.created
    date = _header(headers, "date")
    if date is None:
        raise SignatureError("Date header missing")
    return _parse_http_date(date)


def _expires_at(params: SignatureParams, created: int) -> float:
    """The signed (expires), else created + 5 min; never past created + 12 h.

    An unsigned `expires` could be edited by anyone, so it may shorten the
    signature's life but never lengthen it.
    """
    end = created + DEFAULT_LIFETIME.total_seconds()
    if params.expires is not None and EXPIRES in params.headers:
        end = params.expires
    limits = [end, created + MAX_LIFETIME.total_seconds()]
    if params.expires is not None:
        limits.append(params.expires)
    return min(limits)


@lru_cache(maxsize=256)
def _parse_http_date(value: str) -> int:
    """RFC 1123 (and the other RFC 5322 forms); locale-independent, unlike strptime.
    A busy inbox sees the same Date (to the second) many times, and parsing it costs
    a tenth of a request's signature checks, so recent ones are kept."""
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000": UTC with no claim about the local zone
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SignatureError("Date header is not a valid HTTP date") from exc


def _check_digest(value: str | None, body: bytes) -> None:
    """Compare the SHA-256 entry with the exact body bytes, in constant time (A5)."""
    if value is None:
        raise SignatureError("Digest header missing")
    entries = _digest_entries(value)
    encoded = entries.get("sha-256")
    if encoded is None:
        offered = ", ".join(name[:32] for name in list(entries)[:_MAX_NAMES_SHOWN])
        raise SignatureError(f"Digest has no SHA-256 entry (offered: {offered})")
    claimed = _decode_base64(encoded, "SHA-256 digest")
    if len(claimed) != SHA256_SIZE:
        raise SignatureError("SHA-256 digest is not 32 bytes")
    if not hmac.compare_digest(claimed, hashlib.sha256(body).digest()):
        raise SignatureError("Digest does not match the body")


def _digest_entries(value: str) -> dict[str, str]:
    """`alg=value` entries by lower-cased algorithm; a repeated algorithm is ambiguous."""
    entries: dict[str, str] = {}
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name:
            raise SignatureError("Digest header is malformed")
        key = name.lower()
        if key in entries:
            raise SignatureError(f"Digest has more than one {name[:32]} entry")
        entries[key] = encoded.strip()
    return entries
