"""HTTP signatures: the draft's published vectors, Mastodon's shapes, then one mutation at a time.

Every mutated request is otherwise correctly signed, so each case proves that the
one changed field alone is what gets it refused.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from activitypub.errors import SignatureError
from activitypub.httpsig import (
    SignatureParams,
    check_request,
    digest_header,
    parse_signature,
    sign,
    signing_string,
    verify,
)
from activitypub.keys import generate_private_key

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
HOST = "peiling.test"
INBOX = "/inbox?x=1"
URL = f"https://{HOST}{INBOX}"
KEY_ID = "https://masto.test/users/alice#main-key"
AS2 = "application/activity+json"
BODY = b'{"type":"Create","actor":"https://masto.test/users/alice"}'
SHA256_OF_BODY = hashlib.sha256(BODY).digest()
POST_COVERED = ("(request-target)", "host", "date", "digest", "content-type")

# draft-cavage-http-signatures-12, Appendix C: the published "Test" key (RSA 1024,
# a public test vector) and the request that C.2 and C.3 sign.
DRAFT_PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
"""
DRAFT_TARGET = "/foo?param=value&pet=dog"
DRAFT_BODY = b'{"hello": "world"}'
DRAFT_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
DRAFT_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
DRAFT_BASIC = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",'
    'signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn'
    "7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEm"
    'n04swr2Os0="'
)
DRAFT_ALL_HEADERS = (
    'keyId="Test",algorithm="rsa-sha256",'
    'headers="(request-target) host date content-type digest content-length",'
    'signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2'
    "bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly"
    '4zKH7s1dE="'
)


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None

    def with_header(self, name: str, value: str | None) -> Request:
        """A copy with `name` replaced (any case), or removed when value is None."""
        headers = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
        return replace(self, headers=headers)


@pytest.fixture(scope="session")
def key() -> RSAPrivateKey:
    return generate_private_key()


def signed(
    key: RSAPrivateKey,
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes | None = BODY,
    now: datetime = NOW,
) -> Request:
    extra = {"Content-Type": AS2} if body is not None else {"Accept": AS2}
    headers = sign(method, url, extra, body, key_id=KEY_ID, private_key=key, now=now)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return Request(method, target, headers, body)


def sign_by_hand(
    request: Request,
    key: RSAPrivateKey,
    covered: tuple[str, ...] = POST_COVERED,
    *,
    algorithm: str | None = "rsa-sha256",
    created: int | None = None,
    expires: int | None = None,
) -> Request:
    """Sign exactly what we are told to, the way a peer with its own ideas would."""
    text = signing_string(
        request.method, request.target, request.headers, covered, created=created, expires=expires
    )
    raw = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    params = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    if expires is not None:
        params.append(f"expires={expires}")
    params.append(f'headers="{" ".join(covered)}"')
    params.append(f'signature="{base64.b64encode(raw).decode()}"')
    return request.with_header("Signature", ",".join(params))


def accept(request: Request, public_key: PublicKeyTypes, *, now: datetime = NOW) -> SignatureParams:
    """What the inbox does: the key-free checks, then the signature itself."""
    params = check_request(
        request.method, request.target, request.headers, request.body, expected_host=HOST, now=now
    )
    verify(params, request.method, request.target, request.headers, public_key)
    return params


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def flip_signature(request: Request, _key: RSAPrivateKey) -> Request:
    header = request.headers["Signature"]
    start = header.index('signature="') + len('signature="')
    flipped = "B" if header[start] == "A" else "A"
    return request.with_header("Signature", header[:start] + flipped + header[start + 1 :])


def timestamp(when: datetime) -> int:
    return int(when.timestamp())


# --- draft-cavage-12 Appendix C ---------------------------------------------------


def test_draft_basic_signing_string() -> None:
    text = signing_string("POST", DRAFT_TARGET, DRAFT_HEADERS, ("(request-target)", "host", "date"))

    assert text == (
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT"
    )


def test_draft_all_headers_signing_string() -> None:
    covered = ("(request-target)", "host", "date", "content-type", "digest", "content-length")

    text = signing_string("POST", DRAFT_TARGET, DRAFT_HEADERS, covered)

    assert text == (
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT\n"
        "content-type: application/json\n"
        "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n"
        "content-length: 18"
    )


def test_draft_body_digest() -> None:
    assert digest_header(DRAFT_BODY) == DRAFT_HEADERS["Digest"]


@pytest.mark.parametrize("header", [DRAFT_BASIC, DRAFT_ALL_HEADERS], ids=["basic", "all-headers"])
def test_draft_published_signature_verifies(header: str) -> None:
    public_key = serialization.load_pem_public_key(DRAFT_PUBLIC_KEY)
    headers = {**DRAFT_HEADERS, "Signature": header}

    verify(parse_signature(header), "POST", DRAFT_TARGET, headers, public_key)


def test_draft_all_headers_request_passes_the_inbox_checks() -> None:
    headers = {**DRAFT_HEADERS, "Signature": DRAFT_ALL_HEADERS}

    params = check_request(
        "POST", DRAFT_TARGET, headers, DRAFT_BODY, expected_host="example.com", now=DRAFT_NOW
    )

    assert params.key_id == "Test"


def test_draft_basic_request_is_refused_by_the_inbox_for_lack_of_digest() -> None:
    headers = {**DRAFT_HEADERS, "Signature": DRAFT_BASIC}

    with pytest.raises(SignatureError, match="Digest must be signed"):
        check_request(
            "POST", DRAFT_TARGET, headers, DRAFT_BODY, expected_host="example.com", now=DRAFT_NOW
        )


def test_draft_signature_refused_when_the_date_changes() -> None:
    public_key = serialization.load_pem_public_key(DRAFT_PUBLIC_KEY)
    headers = {**DRAFT_HEADERS, "Date": "Sun, 05 Jan 2014 21:31:41 GMT"}

    with pytest.raises(SignatureError, match="does not verify"):
        verify(parse_signature(DRAFT_BASIC), "POST", DRAFT_TARGET, headers, public_key)


# --- sign() -----------------------------------------------------------------------


def test_sign_adds_host_date_digest_and_signature(key: RSAPrivateKey) -> None:
    given = {"Content-Type": AS2}

    headers = sign("POST", URL, given, BODY, key_id=KEY_ID, private_key=key, now=NOW)

    assert given == {"Content-Type": AS2}
    assert headers["Host"] == HOST
    assert headers["Date"] == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert headers["Digest"] == "SHA-256=" + b64(hashlib.sha256(BODY).digest())
    params = parse_signature(headers["Signature"])
    assert params.key_id == KEY_ID
    assert params.algorithm == "rsa-sha256"
    assert params.headers == POST_COVERED[:4] + ("content-type",)


def test_signed_get_covers_no_digest_and_no_content_type(key: RSAPrivateKey) -> None:
    request = signed(key, method="GET", url="https://masto.test/users/alice", body=None)

    params = parse_signature(request.headers["Signature"])

    assert "Digest" not in request.headers
    assert params.headers == ("(request-target)", "host", "date")


def test_sign_keeps_the_port_in_host_and_replaces_callers_own_copies(key: RSAPrivateKey) -> None:
    given = {"host": "stale.example", "date": "yesterday", "Accept": AS2}

    headers = sign(
        "GET",
        "https://peiling.test:8443/a?b=c",
        given,
        None,
        key_id=KEY_ID,
        private_key=key,
        now=NOW,
    )

    assert headers["Host"] == "peiling.test:8443"
    assert "host" not in headers and "date" not in headers
    assert headers["Accept"] == AS2


def test_sign_refuses_a_naive_clock(key: RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign("GET", URL, {}, None, key_id=KEY_ID, private_key=key, now=NOW.replace(tzinfo=None))


# --- parse_signature() --------------------------------------------------------------


def test_parse_tolerates_spaces_and_bare_numeric_created_expires() -> None:
    params = parse_signature(
        'keyId="Test", algorithm="hs2019", created=1402170695, expires=1402170699.5,'
        ' headers="(request-target) (created) (expires) Host Date", signature="AAAA"'
    )

    assert params == SignatureParams(
        key_id="Test",
        algorithm="hs2019",
        headers=("(request-target)", "(created)", "(expires)", "host", "date"),
        signature=b"\x00\x00\x00",
        created=1402170695,
        expires=1402170699,
    )


@pytest.mark.parametrize(
    ("algorithm", "default"),
    [
        ('algorithm="rsa-sha256",', ("date",)),
        ('algorithm="hs2019",', ("(created)",)),
        ("", ("(created)",)),
    ],
    ids=["rsa-sha256", "hs2019", "absent-means-hs2019"],
)
def test_parse_defaults_the_header_list_by_algorithm(
    algorithm: str, default: tuple[str, ...]
) -> None:
    params = parse_signature(f'keyId="k",{algorithm}signature="AAAA"')

    assert params.headers == default


# --- accepted requests ----------------------------------------------------------------


def test_signed_post_round_trips(key: RSAPrivateKey) -> None:
    params = accept(signed(key), key.public_key())

    assert params.key_id == KEY_ID


def test_signed_get_round_trips(key: RSAPrivateKey) -> None:
    request = signed(key, method="GET", url=f"https://{HOST}/users/alice?page=1", body=None)

    accept(request, key.public_key())


def test_mastodon_header_order_is_honoured(key: RSAPrivateKey) -> None:
    order = ("host", "date", "content-type", "digest", "(request-target)")
    request = sign_by_hand(signed(key), key, order)

    params = accept(request, key.public_key())

    assert params.headers == order


def test_lower_case_header_names_are_found(key: RSAPrivateKey) -> None:
    request = signed(key)
    lowered = replace(request, headers={k.lower(): v for k, v in request.headers.items()})

    accept(lowered, key.public_key())


def test_host_comparison_ignores_case_and_keeps_the_port(key: RSAPrivateKey) -> None:
    request = signed(key, url="https://Peiling.Test:8443/inbox")

    params = check_request(
        "POST", "/inbox", request.headers, BODY, expected_host="peiling.test:8443", now=NOW
    )
    verify(params, "POST", "/inbox", request.headers, key.public_key())


def test_absent_algorithm_is_verified_as_rsa(key: RSAPrivateKey) -> None:
    request = sign_by_hand(signed(key), key, algorithm=None)

    params = accept(request, key.public_key())

    assert params.algorithm is None


def test_hs2019_with_signed_created_needs_no_date(key: RSAPrivateKey) -> None:
    covered = ("(request-target)", "host", "(created)", "digest")
    request = signed(key).with_header("Date", None)

    accept(
        sign_by_hand(request, key, covered, algorithm="hs2019", created=timestamp(NOW)),
        key.public_key(),
    )


def test_digest_with_several_algorithms_uses_sha256(key: RSAPrivateKey) -> None:
    digest = f"SHA-512={b64(hashlib.sha512(BODY).digest())}, sha-256={b64(SHA256_OF_BODY)}"
    request = sign_by_hand(signed(key).with_header("Digest", digest), key)

    accept(request, key.public_key())


@pytest.mark.parametrize(
    ("skew", "refusal"),
    [
        (timedelta(minutes=-64), None),
        (timedelta(minutes=-66), "expired"),
        (timedelta(minutes=59), None),
        (timedelta(minutes=61), "future"),
    ],
    ids=["64min-old", "66min-old", "59min-ahead", "61min-ahead"],
)
def test_date_window_is_mastodons(key: RSAPrivateKey, skew: timedelta, refusal: str | None) -> None:
    request = signed(key, now=NOW + skew)

    if refusal is None:
        accept(request, key.public_key())
    else:
        with pytest.raises(SignatureError, match=refusal):
            accept(request, key.public_key())


# --- refused requests: one field changed at a time ----------------------------------

Mutation = Callable[[Request, RSAPrivateKey], Request]


def _drop(name: str) -> tuple[str, ...]:
    return tuple(h for h in POST_COVERED if h != name)


def _resigned_with(
    header: str, value: str | None, covered: tuple[str, ...] = POST_COVERED
) -> Mutation:
    return lambda r, k: sign_by_hand(r.with_header(header, value), k, covered)


def _with_signature(value: str) -> Mutation:
    return lambda r, _k: r.with_header("Signature", value)


def _sig(r: Request) -> str:
    return r.headers["Signature"]


def _claims_created_without_value(request: Request, _key: RSAPrivateKey) -> Request:
    """hs2019 listing (created) in headers= but sending no created parameter."""
    header = (
        _sig(request)
        .replace("rsa-sha256", "hs2019")
        .replace('content-type"', 'content-type (created)"')
    )
    return request.with_header("Signature", header)


def _stale_with_unsigned_expires(_request: Request, key: RSAPrivateKey) -> Request:
    """A 2 h old request whose attacker appended a fresh, unsigned `expires`."""
    stale = signed(key, now=NOW - timedelta(hours=2))
    return stale.with_header("Signature", _sig(stale) + f",expires={timestamp(NOW)}")


MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("method", lambda r, _k: replace(r, method="PUT"), "does not verify"),
    ("path", lambda r, _k: replace(r, target="/users/alice/inbox?x=1"), "does not verify"),
    ("query", lambda r, _k: replace(r, target="/inbox?x=2"), "does not verify"),
    ("query-dropped", lambda r, _k: replace(r, target="/inbox"), "does not verify"),
    ("host-header", lambda r, _k: r.with_header("Host", "other.example"), "Host header"),
    ("host-missing", lambda r, _k: r.with_header("Host", None), "Host header"),
    (
        "replayed-from-other-server",
        lambda _r, k: signed(k, url=f"https://other.example{INBOX}"),
        "Host header",
    ),
    (
        "date",
        lambda r, _k: r.with_header("Date", http_date(NOW + timedelta(seconds=1))),
        "does not verify",
    ),
    (
        "digest-header",
        lambda r, _k: r.with_header("Digest", digest_header(b"{}")),
        "Digest does not",
    ),
    ("digest-missing", lambda r, _k: r.with_header("Digest", None), "Digest header missing"),
    ("body", lambda r, _k: replace(r, body=b"{}"), "Digest does not match"),
    (
        "body-and-digest",
        lambda r, _k: replace(r, body=b"{}").with_header("Digest", digest_header(b"{}")),
        "does not verify",
    ),
    ("content-type", lambda r, _k: r.with_header("Content-Type", "text/plain"), "does not verify"),
    ("signature-bytes", flip_signature, "does not verify"),
    (
        "signature-truncated",
        lambda r, _k: r.with_header(
            "Signature", _sig(r).split(",signature=")[0] + ',signature="AAAA"'
        ),
        "does not verify",
    ),
    ("unsigned-digest", lambda r, k: sign_by_hand(r, k, _drop("digest")), "Digest must be signed"),
    ("unsigned-host", lambda r, k: sign_by_hand(r, k, _drop("host")), "Host must be signed"),
    (
        "unsigned-request-target",
        lambda r, k: sign_by_hand(r, k, _drop("(request-target)")),
        r"\(request-target\) must be signed",
    ),
    (
        "algorithm-hmac-sha256",
        lambda r, k: sign_by_hand(r, k, algorithm="hmac-sha256"),
        "unsupported algorithm",
    ),
    (
        "date-2h-past",
        lambda _r, k: signed(k, now=NOW - timedelta(hours=2)),
        "expired",
    ),
    (
        "date-2h-future",
        lambda _r, k: signed(k, now=NOW + timedelta(hours=2)),
        "future",
    ),
    ("date-wrong", _resigned_with("Date", "wrong date"), "not a valid HTTP date"),
    ("date-missing", lambda r, _k: r.with_header("Date", None), "Date header missing"),
    ("created-param-missing", _claims_created_without_value, r"\(created\) parameter missing"),
    (
        "no-date-no-created",
        _resigned_with("Date", None, _drop("date")),
        r"Date or \(created\) must be signed",
    ),
    (
        "created-without-hs2019",
        lambda r, k: sign_by_hand(
            r.with_header("Date", None),
            k,
            ("(request-target)", "host", "(created)", "digest"),
            created=timestamp(NOW),
        ),
        r"Date or \(created\) must be signed",
    ),
    (
        "signed-expires-in-the-past",
        lambda r, k: sign_by_hand(
            r, k, (*POST_COVERED, "(expires)"), expires=timestamp(NOW - timedelta(hours=2))
        ),
        "expired",
    ),
    ("unsigned-expires-cannot-extend", _stale_with_unsigned_expires, "expired"),
    (
        "digest-sha512-only",
        _resigned_with("Digest", f"SHA-512={b64(hashlib.sha512(BODY).digest())}"),
        r"no SHA-256 entry \(offered: sha-512\)",
    ),
    ("digest-not-base64", _resigned_with("Digest", "SHA-256=not base64!"), "not valid base64"),
    (
        "digest-31-bytes",
        _resigned_with("Digest", f"SHA-256={b64(SHA256_OF_BODY[:31])}"),
        "32 bytes",
    ),
    ("digest-malformed", _resigned_with("Digest", "sha-256"), "Digest header is malformed"),
    (
        "digest-twice",
        _resigned_with("Digest", f"SHA-256={b64(SHA256_OF_BODY)},SHA-256={b64(bytes(32))}"),
        "more than one",
    ),
    (
        "duplicate-param",
        lambda r, _k: r.with_header("Signature", _sig(r) + ',keyId="https://evil.test/a#k"'),
        "duplicate keyId",
    ),
    ("no-signature", lambda r, _k: r.with_header("Signature", None), "Request not signed"),
    ("empty-signature-header", _with_signature(""), "empty"),
    ("garbage-signature-header", _with_signature("garbage"), "malformed"),
    ("trailing-comma", lambda r, _k: r.with_header("Signature", _sig(r) + ","), "malformed"),
    ("unquoted-key-id", _with_signature('keyId=123,signature="AAAA"'), "must be quoted"),
    ("missing-key-id", _with_signature('signature="AAAA"'), "keyId missing"),
    ("missing-signature", _with_signature('keyId="k"'), "signature missing"),
    ("signature-not-base64", _with_signature('keyId="k",signature="@@@"'), "not valid base64"),
    ("empty-headers-param", _with_signature('keyId="k",headers="",signature="AAAA"'), "empty"),
    (
        "captured-get-replayed-as-post",
        lambda _r, k: replace(
            signed(k, method="GET", url=f"https://{HOST}/users/x", body=None),
            method="POST",
            target=INBOX,
            body=BODY,
        ),
        "Digest must be signed",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [pytest.param(m, reason, id=name) for name, m, reason in MUTATIONS],
)
def test_single_mutation_is_refused(key: RSAPrivateKey, mutate: Mutation, reason: str) -> None:
    request = mutate(signed(key), key)

    with pytest.raises(SignatureError, match=reason):
        accept(request, key.public_key())


def test_ed25519_key_is_refused_even_when_algorithm_says_rsa(key: RSAPrivateKey) -> None:
    request = signed(key)
    other = ed25519.Ed25519PrivateKey.generate().public_key()

    with pytest.raises(SignatureError, match="only RSA"):
        accept(request, other)


def test_someone_elses_rsa_key_does_not_verify(key: RSAPrivateKey) -> None:
    with pytest.raises(SignatureError, match="does not verify"):
        accept(signed(key), generate_private_key().public_key())


# --- hostile input never escapes as anything but SignatureError -------------------

HOSTILE_SIGNATURES = [
    "=",
    ",",
    '"',
    "keyId=",
    'keyId="a" signature="AAAA"',
    'keyId="a",,signature="AAAA"',
    'keyId="a",signature="\u00e9\u00e9\u00e9\u00e9"',
    'keyId="a",signature="AAAA",created=1e5',
    'keyId="a",signature="AAAA",created="soon"',
    'keyId="a",signature="AAAA",created=' + "9" * 5000,
    'keyId="a",signature="AAAA",headers="(request-target) host date digest",created=9999999999999',
    'keyId="\ud800",signature="AAAA"',
    'keyId="a",algorithm="' + "x" * 10_000 + '",signature="AAAA"',
]
HOSTILE_DATES = [
    "",
    "\ud800",
    "99999999999999999999",
    "Sun, 05 Jan 0000 21:31:40 GMT",
    "Fri, 31 Dec 9999 23:59:59 -2359",
    "Mon, 01 Jan 0001 00:00:00 +2359",
    "Mon, 32 Foo 2014 25:61:61 GMT",
    "Sun, 05 Jan 2014 21:31:40 GMT\nx: y",
]
HOSTILE_DIGESTS = [
    "",
    "=",
    ",,,",
    "SHA-256=",
    "sha-256=====",
    "SHA-256=\u00e9",
    "SHA-256=" + "A" * 4,
]


def _expect_only_signature_error(request: Request, public_key: PublicKeyTypes) -> None:
    try:
        accept(request, public_key)
    except SignatureError:
        pass


def test_hostile_headers_only_raise_signature_error(key: RSAPrivateKey) -> None:
    base = signed(key)
    variants = [base.with_header("Signature", value) for value in HOSTILE_SIGNATURES]
    variants += [base.with_header("Date", value) for value in HOSTILE_DATES]
    variants += [base.with_header("Digest", value) for value in HOSTILE_DIGESTS]

    for request in variants:
        with pytest.raises(SignatureError):
            accept(request, key.public_key())


def _garble(value: str, rng: random.Random) -> str:
    """A few random insertions, deletions and replacements near the header's syntax."""
    alphabet = '=",() 0123456789+/.-kK\u00e9\ud800\n'
    chars = list(value)
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(chars) + 1)
        edit = rng.choice(("insert", "delete", "replace"))
        if edit == "insert" or at == len(chars):
            chars.insert(at, rng.choice(alphabet))
        elif edit == "delete":
            del chars[at]
        else:
            chars[at] = rng.choice(alphabet)
    return "".join(chars)


@pytest.mark.parametrize("header", ["Signature", "Date", "Digest"])
def test_garbled_headers_only_raise_signature_error(key: RSAPrivateKey, header: str) -> None:
    rng = random.Random(20260301)
    base = signed(key)

    for _ in range(500):
        garbled = base.with_header(header, _garble(base.headers[header], rng))
        _expect_only_signature_error(garbled, key.public_key())
