"""Which webhook URLs may be called: http(s) to hosts whose every address is public.

A webhook must not become a way into the operator's own network (SSRF): a URL whose host
resolves to a loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT,
multicast, reserved or unspecified address, or to an IPv4-mapped IPv6 form of one, is
refused, unless ``WEBHOOK_ALLOW_PRIVATE_URLS`` (tests, development). The check runs when
the URL is saved and again before every attempt (DNS may have changed since), and the
attempt connects to the address that was checked (``delivery.py``), so DNS rebinding
between check and connection gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why, for the API and the attempt log."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the check, with the address to connect to."""

    url: SplitResult
    host: str
    port: int
    address: IpAddress


def parse(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, host and port; ``UnsafeUrl`` if it is not a plain http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"is not a valid URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise UnsafeUrl("must be an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeUrl("must name a host")
    if port == 0:
        raise UnsafeUrl("must not name port 0")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry credentials (put them in the path or use the "
                        "signature to authenticate us)")
    return parts, parts.hostname, port or SCHEMES[parts.scheme]


def refusal(address: IpAddress) -> str | None:
    """Why ``address`` is not public, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by it (mapped, 6to4, Teredo's
        # client); site-local (fec0::/10, deprecated) is private.
        embedded = address.ipv4_mapped or address.sixtofour or (
            address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return refusal(embedded)
        if address.is_site_local:
            return "private"
    for reason, flag in (("loopback", address.is_loopback), ("private", address.is_private),
                         ("link-local", address.is_link_local),
                         ("multicast", address.is_multicast),
                         ("unspecified", address.is_unspecified),
                         ("reserved", address.is_reserved)):
        if flag:
            return reason
    return None if address.is_global else "not public"


def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve ({exc})") from None
    # Drop an IPv6 zone ("fe80::1%eth0"): the address itself decides.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0])
                              for info in infos))


def check(url: str, *, allow_private: bool) -> Target:
    """The address to connect to for ``url``; ``UnsafeUrl`` when it may not be called."""
    parts, host, port = parse(url)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise UnsafeUrl(f"resolves to {address}, a {reason} address: webhooks only "
                                "call public addresses")
    if not addresses:
        raise UnsafeUrl(f"host {host!r} has no address")
    return Target(parts, host, port, addresses[0])
