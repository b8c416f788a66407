"""Which network addresses the outgoing client may connect to.

A fetched keyId or inbox is attacker-chosen, so every address we connect to is
checked against an explicit deny list. `ipaddress.is_global` alone is not the
filter: it answers True for multicast and for the NAT64 (`64:ff9b::7f00:1`) and
6to4 (`2002:7f00:1::`) spellings of 127.0.0.1. IP literals are refused by
`check_url` (aiohttp never calls a resolver for them); host names are refused by
`GuardedResolver` when a connection is opened, so a DNS answer that changes
between two connections (rebinding) is checked again each time.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from .errors import AddressNotAllowed

IPAddress = IPv4Address | IPv6Address

_DENIED = tuple(
    ip_network(net)
    for net in (
        # IPv4
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including the cloud metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the 255.255.255.255 broadcast
        # IPv6
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64: where the IPv4 sits depends on the network
        "100::/64",  # discard-only
        "2001::/32",  # Teredo: tunnels to an address we cannot see
        "2001:2::/48",  # benchmarking
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
_LOOPBACK = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
_GLOBAL_UNICAST_V6 = ip_network("2000::/3")
_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ip_network("::/96")


def is_allowed(ip: IPAddress, *, allow_loopback: bool) -> bool:
    """True when we may connect to `ip`.

    Addresses that carry an IPv4 address inside (mapped, compatible, NAT64, 6to4)
    are judged by that IPv4 address, never with the loopback exception: only the
    plain loopback spellings are what a test setup means by "loopback".
    """
    if allow_loopback and any(ip in net for net in _LOOPBACK):
        return True
    embedded = _embedded_ipv4(ip) if isinstance(ip, IPv6Address) else None
    if embedded is not None:
        return is_allowed(embedded, allow_loopback=False)
    if any(ip in net for net in _DENIED) or not ip.is_global:
        return False
    return isinstance(ip, IPv4Address) or ip in _GLOBAL_UNICAST_V6


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a packet to `ip` really ends up at, if it is a translation form."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def check_url(url: str, *, allow_http: bool, allow_loopback: bool) -> None:
    """Raise AddressNotAllowed unless `url` is one we may request.

    The URL is parsed with yarl, the parser aiohttp itself uses, so the check and
    the request cannot disagree about which host is meant.
    """
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise AddressNotAllowed(f"not a valid URL: {exc}") from exc
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes:
        raise AddressNotAllowed(f"scheme {parsed.scheme!r} is not allowed")
    if not parsed.host:
        raise AddressNotAllowed("URL has no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise AddressNotAllowed("URL carries user info")
    literal = _ip_literal(parsed.host)
    if literal is not None and not is_allowed(literal, allow_loopback=allow_loopback):
        raise AddressNotAllowed(f"address {literal} is not allowed")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """Resolve a host name and refuse it whole if any answer is not allowed.

    aiohttp asks the resolver each time it opens a connection (the client turns
    its DNS cache off), so the addresses checked here are the ones connected to.
    Refusing the whole answer, not just its bad entries, keeps a name that mixes a
    public and a private record from ever reaching the private one. The guard owns
    `inner` and closes it.
    """

    def __init__(self, inner: AbstractResolver | None = None, *, allow_loopback: bool) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            address = _ip_literal(answer["host"])
            if address is None or not is_allowed(address, allow_loopback=self._allow_loopback):
                raise AddressNotAllowed(
                    f"{host} resolves to {answer['host']}, which is not allowed"
                )
        return answers

    async def close(self) -> None:
        await self._inner.close()
