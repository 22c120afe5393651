"""`POST /onion_req/v2`: peel one layer of an onion request, then relay it to the next node
or, as the target, serve the request inside (the storage RPC) and encrypt the answer for
the client.

Errors before the client's reply key is known are plain text with their HTTP status,
exactly where Session's storage server puts them (so clients react the same way):

| status | body | when |
|---|---|---|
| 413 | `Request body too large` | over `onion.max_request_bytes` |
| 400 | `Error parsing onion request: ...` | bad length prefix, JSON, ephemeral key, enc_type |
| 400 | `onion request max path length exceeded` | `hop_no` above 15 |
| 400 | `Invalid ciphertext` | the layer does not decrypt (wrong key, tampered) |
| 502 | `Next node not found: <ed25519 hex>` | the next hop is not a serving registered node |
| 502 | `Next node unreachable: <ed25519 hex>` | it refused the connection |
| 504 | `Request time out` | it did not answer in `onion.relay_timeout` |
| 503 | `Snode not ready: <ed25519 hex>` | this node is not synced or not serving |

Layers naming a server (`host`/`target`) go to the server relay (relay.py) when the node
has one; without one they are answered encrypted with 400 `Invalid url`.

Once the layer decrypts, the target answers 200 with the encrypted (and, by default,
base64-encoded) `{"status", "body"}` of the inner request, errors included.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import ViewSource
from sesh.node.onion.relay import ServerRelay, read_up_to
from sesh.node.storage.rpc import StorageRpc
from sesh.protocol.onion import (
    MAX_HOPS,
    Deliver,
    OnionError,
    Peeled,
    Relay,
    ToServer,
    Unreadable,
    encrypt_reply,
    parse_request,
    peel,
)
from sesh.protocol.storage_rpc import Response

log = logging.getLogger("sesh.protocol.onion")

ONION_PATH = "/onion_req/v2"
# Largest answer read back from the next hop (a full retrieve, encrypted and base64'd).
MAX_RELAY_RESPONSE_BYTES = 16 << 20


@dataclass
class OnionSettings:
    max_request_bytes: int = 1 << 20
    relay_timeout: float = 20.0


class OnionRouter:
    """The onion request endpoint of one node."""

    def __init__(
        self,
        identity: NodeIdentity,
        views: ViewSource,
        storage: StorageRpc,
        metrics: Metrics,
        settings: OnionSettings | None = None,
        server_relay: ServerRelay | None = None,
    ):
        self.identity = identity
        self.views = views
        self.storage = storage
        self.metrics = metrics
        self.settings = settings or OnionSettings()
        self._session: aiohttp.ClientSession | None = None
        self.server_relay = server_relay

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post(ONION_PATH, self.onion_request)

    async def run(self, stop: asyncio.Event) -> None:
        """Holds the relay connections open until `stop`."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
        try:
            await stop.wait()
        finally:
            await self._session.close()
            self._session = None

    async def onion_request(self, request: web.Request) -> web.Response:
        limit = self.settings.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._answer(413, "Request body too large", "too_large")
        body = await read_up_to(request.content, limit + 1)
        if len(body) > limit:
            return self._answer(413, "Request body too large", "too_large")
        return await self.process(body)

    async def process(self, body: bytes) -> web.Response:
        """Handle one onion request body (as received over HTTP)."""
        view = await self.views.current()
        if not view.ready or view.own is None:
            return self._answer(
                503, f"Snode not ready: {self.identity.ed25519_pubkey.hex()}", "not_ready"
            )
        try:
            onion = parse_request(body)
        except OnionError as exc:
            return self._answer(400, f"Error parsing onion request: {exc.message}", "malformed")
        if onion.hop_no > MAX_HOPS:
            return self._answer(400, "onion request max path length exceeded", "too_many_hops")
        try:
            peeled = peel(onion, self.identity.x25519_secret, self.identity.x25519_pubkey)
        except OnionError as exc:
            return self._answer(exc.status, exc.message, "undecryptable")
        step = peeled.step
        if isinstance(step, Relay):
            return await self._relay(step, onion.hop_no + 1)
        if isinstance(step, Deliver):
            answer = await self.storage.handle_body(step.body)
            self.metrics.inc("sesh_onion_requests_total", result="served")
            return self._reply(peeled, answer, step.json_body, step.base64_reply)
        if isinstance(step, ToServer) and self.server_relay is not None:
            return await self.server_relay.forward(step, peeled)
        if isinstance(step, ToServer):
            refused = Response(400, "Invalid url: this node relays only to service nodes")
            self.metrics.inc("sesh_onion_requests_total", result="refused_server")
            return self._reply(peeled, refused, False, True)
        assert isinstance(step, Unreadable)
        self.metrics.inc("sesh_onion_requests_total", result="unreadable")
        return self._reply(peeled, Response(400, "Invalid json"), False, True)

    def _answer(self, status: int, text: str, result: str) -> web.Response:
        self.metrics.inc("sesh_onion_requests_total", result=result)
        return web.Response(status=status, text=text)

    def _reply(
        self, peeled: Peeled, answer: Response, embed_json: bool, base64_reply: bool
    ) -> web.Response:
        ciphertext = encrypt_reply(peeled, answer.onion_reply(embed_json))
        if base64_reply:
            return web.Response(status=200, text=base64.b64encode(ciphertext).decode())
        return web.Response(status=200, body=ciphertext)

    async def _relay(self, step: Relay, hop_no: int) -> web.Response:
        view = await self.views.current()
        node = view.nodes.get(step.destination)
        hex_key = step.destination.hex()
        if node is None:
            return self._answer(502, f"Next node not found: {hex_key}", "next_not_found")
        if hop_no > MAX_HOPS:
            return self._answer(400, "onion request max path length exceeded", "too_many_hops")
        envelope = step.envelope(hop_no)
        if node.ed25519 == self.identity.ed25519_pubkey:
            # A path through this node twice: no need for the network.
            return await self.process(envelope)
        session = self._session
        if session is None:
            return self._answer(503, "Snode not ready: shutting down", "not_ready")
        try:
            async with session.post(
                node.url + "/onion_req/v2",
                data=envelope,
                timeout=aiohttp.ClientTimeout(total=self.settings.relay_timeout),
            ) as response:
                answer = await read_up_to(response.content, MAX_RELAY_RESPONSE_BYTES + 1)
                if len(answer) > MAX_RELAY_RESPONSE_BYTES:
                    return self._answer(502, "Next node answer too large", "next_too_large")
                self.metrics.inc("sesh_onion_requests_total", result="relayed")
                return web.Response(
                    status=response.status,
                    body=answer,
                    content_type=response.content_type or "text/plain",
                )
        except TimeoutError:
            return self._answer(504, "Request time out", "next_timeout")
        except (aiohttp.ClientError, OSError) as exc:
            log.info("relay to node %d (%s) failed: %r", node.node_id, node.endpoint, exc)
            return self._answer(502, f"Next node unreachable: {hex_key}", "next_unreachable")
