"""Which addresses the outgoing client may reach (security.md rule 7, A30, A31)."""

from __future__ import annotations

import socket
from ipaddress import ip_address

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from activitypub.addresses import GuardedResolver, check_url, is_allowed
from activitypub.errors import AddressNotAllowed

DENIED = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "2001::1",  # Teredo
    "2001:db8::1",
    "3fff::1",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "192.0.0.9",
    "100::1",
    "5f00::1",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", DENIED)
def test_special_addresses_are_denied(address: str) -> None:
    assert not is_allowed(ip_address(address), allow_loopback=False)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_allowed(ip_address(address), allow_loopback=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1"])
def test_loopback_is_allowed_only_when_asked(address: str) -> None:
    assert is_allowed(ip_address(address), allow_loopback=True)
    assert not is_allowed(ip_address(address), allow_loopback=False)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "192.168.1.1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
    ],
)
def test_allow_loopback_allows_nothing_else(address: str) -> None:
    assert not is_allowed(ip_address(address), allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/actor",
        "file:///etc/passwd",
        "gopher://example.org/_",
        "data:application/json,{}",
        "ftp://example.org/actor",
        "https://user:secret@example.org/actor",
        "https://user@example.org/actor",
        "https:///actor",
        "/actor",
        "",
        "https://127.0.0.1/actor",
        "https://10.0.0.1/actor",
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/",
        "https://100.64.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[64:ff9b::7f00:1]/",
        "https://[2002:7f00:1::]/",
        "https://[fe80::1]/",
        "https://example.org\\@127.0.0.1/",
    ],
)
def test_production_refuses_url(url: str) -> None:
    with pytest.raises(AddressNotAllowed):
        check_url(url, allow_http=False, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/users/alice",
        "https://EXAMPLE.org:8443/users/alice?page=1#main-key",
        "https://8.8.8.8/actor",
        "https://[2606:4700:4700::1111]/actor",
    ],
)
def test_production_accepts_public_https_url(url: str) -> None:
    check_url(url, allow_http=False, allow_loopback=False)


def test_http_is_accepted_only_when_allowed() -> None:
    check_url("http://example.org/actor", allow_http=True, allow_loopback=False)


def test_loopback_literal_is_accepted_only_when_allowed() -> None:
    check_url("http://127.0.0.1:8080/actor", allow_http=True, allow_loopback=True)
    check_url("http://[::1]:8080/actor", allow_http=True, allow_loopback=True)
    with pytest.raises(AddressNotAllowed):
        check_url("http://10.0.0.1/actor", allow_http=True, allow_loopback=True)


class FixedResolver(AbstractResolver):
    """Answers every name with the same addresses, and records being closed."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_guard_passes_public_answers_through() -> None:
    guard = GuardedResolver(FixedResolver("8.8.8.8", "2606:4700:4700::1111"), allow_loopback=False)
    answers = await guard.resolve("example.org", 443)
    assert [a["host"] for a in answers] == ["8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize(
    "addresses",
    [("127.0.0.1",), ("8.8.8.8", "127.0.0.1"), ("10.0.0.1", "8.8.8.8"), ("not-an-ip",)],
)
async def test_guard_refuses_whole_answer_with_any_bad_address(addresses: tuple[str, ...]) -> None:
    guard = GuardedResolver(FixedResolver(*addresses), allow_loopback=False)
    with pytest.raises(AddressNotAllowed):
        await guard.resolve("evil.test", 443)


async def test_guard_allows_loopback_only_when_asked() -> None:
    guard = GuardedResolver(FixedResolver("127.0.0.1"), allow_loopback=True)
    assert [a["host"] for a in await guard.resolve("fake.test", 80)] == ["127.0.0.1"]


async def test_guard_closes_its_inner_resolver() -> None:
    inner = FixedResolver("8.8.8.8")
    await GuardedResolver(inner, allow_loopback=False).close()
    assert inner.closed
