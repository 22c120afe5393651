"""`POST /onion_req/v2`: peel one layer of an onion request, then relay it to the next node
or, as the target, serve the request inside (the storage RPC) and encrypt the answer for
the client.

Errors before the client's reply key is known are plain text with their HTTP status,
exactly where Session's storage server puts them (so clients react the same way):

| status | body | when |
|---|---|---|
| 413 | `Request body too large` | over `onion.max_request_bytes` |
| 400 | `Incomplete request body` | the sender went away before the body's end |
| 408 | `Request body not received in time` | the body took over `http.body_timeout` |
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
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from sesh.node.guard import request_body
from sesh.node.http import BodyIncomplete, BodyTimeout, BodyTooLarge, read_body
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import ViewSource
from sesh.node.onion.relay import ServerRelay
from sesh.node.storage.peers import sign_request
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

log = logging.getLogger("sesh.node.onion.router")

ONION_PATH = "/onion_req/v2"
# Largest answer read back from the next hop (a full retrieve, encrypted and base64'd).
MAX_RELAY_RESPONSE_BYTES = 16 << 20


@dataclass
class OnionSettings:
    max_request_bytes: int = 10 << 20  # Session's storage server's bound
    # Longer than the last hop's wait for a server (`ServerRelaySettings.timeout`, 25 s)
    # plus the inner hops' forwarding, so a slow server's 504, encrypted for the client by
    # the last hop, reaches the client instead of this hop's own plain 504; Session's
    # nodes wait 30 s too, as long as our client waits for its answer.
    relay_timeout: float = 30.0


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
        try:
            body = await request_body(request, self.settings.max_request_bytes)
        except BodyTooLarge:
            return self._answer(413, "Request body too large", "too_large")
        except BodyIncomplete as exc:
            log.info("onion request from %s not received whole: %s", request.remote, exc)
            if isinstance(exc, BodyTimeout):
                return self._answer(408, "Request body not received in time", "incomplete")
            return self._answer(400, "Incomplete request body", "incomplete")
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
            # Signed as node-to-node traffic: the next hop does not count it against this
            # node's address (it carries many clients' requests).
            headers = sign_request(
                self.identity, node.ed25519, int(time.time() * 1000), bytes(envelope)
            )
            headers["Content-Type"] = "application/octet-stream"
            async with session.post(
                node.url + "/onion_req/v2",
                data=envelope,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.relay_timeout),
            ) as response:
                answer = await read_body(
                    response.content, response.content_length, MAX_RELAY_RESPONSE_BYTES
                )
                self.metrics.inc("sesh_onion_requests_total", result="relayed")
                return web.Response(
                    status=response.status,
                    body=answer,
                    content_type=response.content_type or "text/plain",
                )
        except BodyTooLarge:
            return self._answer(502, "Next node answer too large", "next_too_large")
        except BodyIncomplete as exc:
            log.info("relay to node %d (%s) cut short: %s", node.node_id, node.endpoint, exc)
            return self._answer(502, f"Next node unreachable: {hex_key}", "next_unreachable")
        except TimeoutError:
            return self._answer(504, "Request time out", "next_timeout")
        except (aiohttp.ClientError, OSError) as exc:
            log.info("relay to node %d (%s) failed: %r", node.node_id, node.endpoint, exc)
            return self._answer(502, f"Next node unreachable: {hex_key}", "next_unreachable")
