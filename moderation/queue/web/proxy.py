"""Behind a reverse proxy: the scheme and client address the proxy saw, from the headers it adds.

A TLS-terminating proxy talks plain HTTP to the app and says what the client
used in ``X-Forwarded-Proto`` / ``X-Forwarded-For`` or in the standard
``Forwarded: for=...;proto=https`` (RFC 7239). Both are read, but only from a
trusted proxy (by default the loopback addresses, as uvicorn does; the
``FORWARDED_ALLOW_IPS`` environment variable or ``trusted`` names others, ``*``
every one), and only the last entry, the one the trusted proxy appended: what
the client wrote before it is not believed. The scheme makes cookies Secure and
turns on HSTS; the address is what logins are throttled by.
"""

from __future__ import annotations

import ipaddress
import os

__all__ = ["ProxyHeaders", "trusted_proxies", "parse_forwarded"]

DEFAULT_TRUSTED = ("127.0.0.1", "::1")
SCHEMES = {"http", "https"}


def trusted_proxies(value: str | None = None) -> frozenset[str]:
    """The trusted proxy addresses: ``value``, else ``$FORWARDED_ALLOW_IPS``, else the loopback addresses."""
    value = value if value is not None else os.environ.get("FORWARDED_ALLOW_IPS")
    if not value:
        return frozenset(DEFAULT_TRUSTED)
    return frozenset(v.strip() for v in value.split(",") if v.strip())


def _host(value: str) -> str | None:
    """An IP address from a ``for=`` or ``X-Forwarded-For`` value (``"[2001:db8::1]:4711"``, ``192.0.2.1:80``)."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:  # "unknown", an obfuscated identifier ("_hidden"), garbage
        return None


def parse_forwarded(value: str) -> dict[str, str]:
    """The parameters of the last element of a ``Forwarded`` header, lower-cased names, quotes removed."""
    last = value.split(",")[-1]
    out = {}
    for pair in last.split(";"):
        name, sep, val = pair.partition("=")
        if sep:
            out[name.strip().lower()] = val.strip().strip('"')
    return out


class ProxyHeaders:
    """ASGI middleware: from a trusted proxy, take the scheme and client address from its forwarding headers."""

    def __init__(self, app, trusted: frozenset[str] | None = None):
        self.app = app
        self.trusted = trusted if trusted is not None else trusted_proxies()

    def _trusts(self, client) -> bool:
        return "*" in self.trusted or (client is not None and client[0] in self.trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self._trusts(scope.get("client")):
            headers = {}
            for name, value in scope["headers"]:
                key = name.decode("latin-1").lower()
                if key in ("forwarded", "x-forwarded-proto", "x-forwarded-for"):
                    headers[key] = f"{headers[key]},{value.decode('latin-1')}" if key in headers else \
                        value.decode("latin-1")
            proto = client = None
            if "forwarded" in headers:
                params = parse_forwarded(headers["forwarded"])
                proto = params.get("proto", "").lower() or None
                client = _host(params["for"]) if "for" in params else None
            if proto is None and "x-forwarded-proto" in headers:
                proto = headers["x-forwarded-proto"].split(",")[-1].strip().lower()
            if client is None and "x-forwarded-for" in headers:
                client = _host(headers["x-forwarded-for"].split(",")[-1])
            if proto in SCHEMES or client:
                scope = dict(scope)
                if proto in SCHEMES:
                    scope["scheme"] = proto
                if client:
                    scope["client"] = (client, 0)
        await self.app(scope, receive, send)
