"""Which address a request comes from: the peer, unless the peer is a proxy the city configured.

The sign-in throttle, the public verify budget and the audit log all key on the client's
address, so whoever may set it decides who gets throttled and what the log says. A reverse
proxy in front of the server passes the real client in ``X-Forwarded-For``; anybody else can
write that header too. So the header is believed only from the proxies listed in
``ONECITY_TRUSTED_PROXIES`` (addresses or networks, comma-separated; none by default), and then
the client is the right-most address in the chain that is not itself a trusted proxy: a
client can prepend whatever it likes, but it cannot change what our own proxy appended.

uvicorn's own ``proxy_headers`` trusts 127.0.0.1 by default — every process on the machine —
so :func:`uvicorn_config` turns it off and this middleware decides instead.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from onecity.core.config import parse_networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(host: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    return any(address in net for net in networks)


def client_from_chain(peer: str, forwarded_for: str | None, networks: list[Network]) -> str:
    """The client address for a request from ``peer`` carrying ``X-Forwarded-For: forwarded_for``."""
    if not networks or forwarded_for is None or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # garbage where an address should be: believe nothing
    return hops[0] if hops else peer


class TrustedProxies:
    """Rewrite the ASGI ``client`` (and ``scheme``) from forwarding headers sent by a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: list[str]) -> None:
        self.app, self.networks = app, parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks and scope.get("client"):
            peer = scope["client"][0]
            if _trusted(peer, self.networks):
                headers: dict[bytes, list[bytes]] = {}
                for name, value in scope.get("headers", []):
                    headers.setdefault(name.lower(), []).append(value)
                chain = b",".join(headers.get(b"x-forwarded-for", [])).decode("latin-1") or None
                client = client_from_chain(peer, chain, self.networks)
                scope = dict(scope)
                scope["client"] = (client, 0)
                proto = headers.get(b"x-forwarded-proto")
                if proto:
                    value = proto[-1].decode("latin-1").split(",")[-1].strip().lower()
                    if value in ("http", "https"):
                        scope["scheme"] = value if scope["type"] == "http" else {"http": "ws", "https": "wss"}[value]
        await self.app(scope, receive, send)


def uvicorn_config(app: Any, *, host: str, port: int, log_level: str = "info", **extra: Any) -> Any:
    """The one way OneCity runs uvicorn: without uvicorn's own trust of forwarding headers."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False, **extra
    )
