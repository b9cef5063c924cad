"""Who is calling: the client's address behind trusted reverse proxies only.

A reverse proxy on the same host makes every request come from 127.0.0.1, so the peer
address alone would let the public through wherever "this machine" is trusted. The peer
is believed as the client unless it is a trusted proxy (`TRUSTED_PROXIES`); then the
nearest address in X-Forwarded-For that is not a trusted proxy is the client. Forwarding
headers from a peer that is not a trusted proxy mean an unknown proxy (or a forger): the
client is unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


def client_address(
    peer: str,
    forwarded_for: Iterable[str],
    *,
    trusted_proxies: tuple[str, ...],
    has_forwarding_headers: bool,
) -> str | None:
    """The client's address, or None when an untrusted peer sent forwarding headers.

    `forwarded_for`: the X-Forwarded-For header values in order (each comma-separated)."""
    if not in_networks(peer, trusted_proxies):
        return None if has_forwarding_headers else peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if not hops:
        return None if has_forwarding_headers else peer
    for hop in reversed(hops):
        if not in_networks(hop, trusted_proxies):
            return hop if _is_address(hop) else None
    # Every hop a trusted proxy: the first one sent the request (a tool on the proxy host).
    return hops[0] if _is_address(hops[0]) else None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def sanic_client_address(request: object, trusted_proxies: tuple[str, ...]) -> str | None:
    """`client_address` for a Sanic request (its socket peer and headers)."""
    headers = request.headers  # type: ignore[attr-defined]
    return client_address(
        str(request.ip or ""),  # type: ignore[attr-defined]
        headers.getall("x-forwarded-for", []),
        trusted_proxies=trusted_proxies,
        has_forwarding_headers=any(name in headers for name in FORWARDING_HEADERS),
    )
