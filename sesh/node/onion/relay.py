"""Server relays: the last node of a path POSTs a client's still-encrypted request to an
HTTP server (Session's file server) and returns the server's answer, which the server
encrypted for the client, untouched. Session's storage server semantics
(`process_onion_req(RelayToServerInfo)`):

- the innermost routing JSON names `host`, `target`, `port` (default 443) and `protocol`
  (default `https`); the body POSTed is the whole decrypted envelope (see
  sesh/protocol/lsrpc.py);
- only `http`/`https`, and only targets `/oxen/…/lsrpc` or `/loki/…/lsrpc` without a query:
  anything else is answered *encrypted* (the client's key is known here) as
  `{"status": 400, "body": "Invalid url"}`;
- the server's HTTP status and body are returned as they are (a v4 answer is raw bytes);
- a server that does not answer within `server_timeout` (25 s, inside the client's 30 s)
  gives 504 `Request time out`; one that cannot be reached 502 `Server unreachable: <host>`.

Beyond Session: servers at loopback, private, link-local or otherwise non-global addresses
are refused (`Invalid url: <host> is not a public address`) unless `allow_private_servers`
(the devnet's file server is on loopback). Host names are checked after resolution, by the
resolver the connection itself uses, so a name cannot resolve to a public address for the
check and a private one for the connection. Answers over `max_server_response_bytes` are
cut off with 502 `Server answer too large`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import re
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from sesh.node.http import BodyIncomplete, BodyTooLarge, read_body
from sesh.node.metrics import Metrics
from sesh.protocol.lsrpc import PROTOCOLS, server_url, target_allowed
from sesh.protocol.onion import Peeled, ToServer, encrypt_reply

log = logging.getLogger("sesh.node.onion.relay")

# One DNS label, as RFC 1123 allows it.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class ServerRelaySettings:
    timeout: float = 25.0
    allow_private: bool = False
    max_response_bytes: int = 16 << 20


class ForbiddenAddress(OSError):
    """A server address this node does not relay to."""


def address_forbidden(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def host_valid(host: str) -> bool:
    """An IP literal or a DNS name (nothing that could smuggle a user, path or port)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


class PublicResolver(AbstractResolver):
    """Resolves as usual, then refuses names with any non-public address."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self.allow_private:
            for result in results:
                if address_forbidden(result["host"]):
                    raise ForbiddenAddress(f"{host} resolves to {result['host']}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class ServerRelay:
    """The server-relay branch of the onion router (a Component: it holds its own HTTP
    connections, apart from the node-to-node ones)."""

    def __init__(self, metrics: Metrics, settings: ServerRelaySettings | None = None):
        self.metrics = metrics
        self.settings = settings or ServerRelaySettings()
        self._session: aiohttp.ClientSession | None = None

    def setup_routes(self, app: web.Application) -> None:
        """No routes: the router calls `forward`."""

    async def run(self, stop: asyncio.Event) -> None:
        resolver = PublicResolver(self.settings.allow_private)
        connector = aiohttp.TCPConnector(limit=256, resolver=resolver)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        try:
            await stop.wait()
        finally:
            await self._session.close()
            self._session = None

    async def forward(self, step: ToServer, peeled: Peeled) -> web.Response:
        """Relay one request to its server; the answer to give the previous hop."""
        refusal = self._refusal(step)
        if refusal is not None:
            self._count("server_refused")
            return self._encrypted(peeled, 400, refusal)
        session = self._session
        if session is None:
            return self._plain(503, "Snode not ready: shutting down", "not_ready")
        url = server_url(step.protocol, step.host, step.port, step.target)
        try:
            async with session.post(
                url,
                data=step.payload,
                # The body goes back as it came: no compression to undo on the way.
                headers={
                    "Content-Type": "application/octet-stream",
                    "Accept-Encoding": "identity",
                },
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                allow_redirects=False,
            ) as response:
                try:
                    body = await read_body(
                        response.content,
                        response.content_length,
                        self.settings.max_response_bytes,
                    )
                except BodyTooLarge:
                    return self._plain(502, "Server answer too large", "server_too_large")
                except BodyIncomplete as exc:
                    log.info("relay to server %s: answer cut off: %s", step.host, exc)
                    return self._plain(
                        502, f"Server unreachable: {step.host}", "server_unreachable"
                    )
                self._count("relayed_server")
                return web.Response(
                    status=response.status,
                    body=body,
                    content_type=response.content_type or "application/octet-stream",
                )
        except TimeoutError:
            return self._plain(504, "Request time out", "server_timeout")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddress):
                self._count("server_refused")
                return self._encrypted(
                    peeled, 400, f"Invalid url: {step.host} is not a public address"
                )
            log.info("relay to server %s failed: %r", step.host, exc)
            return self._plain(502, f"Server unreachable: {step.host}", "server_unreachable")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            log.info("relay to server %s failed: %r", step.host, exc)
            return self._plain(502, f"Server unreachable: {step.host}", "server_unreachable")

    def _refusal(self, step: ToServer) -> str | None:
        """Why this request is not relayed (None: it is)."""
        if step.protocol not in PROTOCOLS or not target_allowed(step.target):
            return "Invalid url"
        if not host_valid(step.host) or not 0 < step.port <= 0xFFFF:
            return "Invalid url"
        if not self.settings.allow_private:
            try:
                ipaddress.ip_address(step.host)
            except ValueError:
                return None  # a name: checked once resolved
            if address_forbidden(step.host):
                return f"Invalid url: {step.host} is not a public address"
        return None

    def _encrypted(self, peeled: Peeled, status: int, body: Any) -> web.Response:
        reply = json.dumps({"status": status, "body": body}, separators=(",", ":")).encode()
        ciphertext = encrypt_reply(peeled, reply)
        return web.Response(status=200, text=base64.b64encode(ciphertext).decode())

    def _plain(self, status: int, text: str, result: str) -> web.Response:
        self._count(result)
        return web.Response(status=status, text=text)

    def _count(self, result: str) -> None:
        self.metrics.inc("sesh_onion_requests_total", result=result)
