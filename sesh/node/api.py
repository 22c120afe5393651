"""The registry's HTTP API: /info, /nodes, /swarms, /swarm/{session_id}, /pro/{pubkey},
and /metrics (Prometheus).

Reads only the tracker's in-memory registry, under the tracker's lock (never while a
range is being applied), so every answer is a consistent snapshot of a checkpoint. 64-bit
token amounts are decimal strings: JSON numbers lose precision past 2**53 in most clients.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sesh import __version__
from sesh.node.chain.registry import Node, Registry
from sesh.node.chain.tracker import ChainTracker
from sesh.node.metrics import Metrics
from sesh.protocol.hexes import from_hex
from sesh.protocol.swarm import parse_session_id, swarm_space


def node_json(node: Node, swarm_id: int | None) -> dict[str, Any]:
    return {
        "node_id": node.node_id,
        "operator": node.operator,
        "ed25519_pubkey": node.ed25519_pubkey.hex(),
        "bls_pubkey": node.bls_pubkey.hex(),
        "endpoint": node.endpoint,
        # HTTPS is served on the endpoint's own port (sesh.node.tls).
        "port_https": _endpoint_port(node.endpoint),
        "fee_bps": node.fee_bps,
        "status": node.status,
        "stake": str(node.stake),
        "contributors": [
            {"address": address, "amount": str(amount)}
            for address, amount in sorted(node.contributions.items())
        ],
        "serving": node.serving,
        "excluded": node.excluded,
        "swarm_id": None if swarm_id is None else str(swarm_id),
        "registered_block": node.registered_block,
        "activated_block": node.activated_block,
        "exit_unlock_time": node.exit_unlock_time,
        "exit_reason": node.exit_reason,
    }


def _endpoint_port(endpoint: str) -> int | None:
    port = endpoint.rpartition(":")[2]
    return int(port) if port.isdigit() else None


def swarm_json(registry: Registry, swarm_id: int) -> dict[str, Any]:
    return {
        "swarm_id": str(swarm_id),
        "swarm_id_hex": f"{swarm_id:016x}",
        "nodes": [
            {
                "node_id": n,
                "ed25519_pubkey": registry.nodes[n].ed25519_pubkey.hex(),
                "endpoint": registry.nodes[n].endpoint,
            }
            for n in registry.swarms[swarm_id]
        ],
    }


def _locked(handler: Callable[[Any, web.Request], web.Response]) -> Any:
    """Run a handler under the tracker's lock: never while a range is being applied."""

    @functools.wraps(handler)
    async def locked(self: Any, request: web.Request) -> web.Response:
        async with self.tracker.lock:
            return handler(self, request)

    return locked


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RegistryApi:
    """Routes over the tracker's registry."""

    def __init__(
        self,
        tracker: ChainTracker,
        metrics: Metrics,
        chain_id: int,
        own_ed25519: bytes | None = None,
    ):
        self.tracker = tracker
        self.metrics = metrics
        self.chain_id = chain_id
        self.own_ed25519 = own_ed25519

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/info", self.info)
        app.router.add_get("/nodes", self.nodes)
        app.router.add_get("/swarms", self.swarms)
        app.router.add_get("/swarm/{session_id}", self.swarm)
        app.router.add_get("/pro/{pubkey}", self.pro)
        app.router.add_get("/metrics", self.metrics_text)

    async def run(self, stop: asyncio.Event) -> None:
        """Nothing to do in the background: the routes are the whole component."""

    @_locked
    def info(self, request: web.Request) -> web.Response:
        tracker = self.tracker
        registry = tracker.registry
        own = registry.node_by_ed25519(self.own_ed25519) if self.own_ed25519 else None
        head = tracker.head
        return web.json_response(
            {
                "version": __version__,
                "chain_id": self.chain_id,
                "chain_head": head,
                "synced_block": tracker.checkpoint.number,
                "synced_block_hash": tracker.checkpoint.hash.hex()
                if tracker.checkpoint.hash
                else None,
                "lag": None if head is None else max(0, head - tracker.checkpoint.number),
                "synced": tracker.synced.is_set(),
                "node_id": own.node_id if own else None,
                "ed25519_pubkey": self.own_ed25519.hex() if self.own_ed25519 else None,
                "nodes": len(registry.nodes),
                "swarms": len(registry.swarms),
            }
        )

    @_locked
    def nodes(self, request: web.Request) -> web.Response:
        registry = self.tracker.registry
        status = request.query.get("status")
        node_swarm = registry.node_swarm()
        listed = [
            node_json(node, node_swarm.get(node_id))
            for node_id, node in sorted(registry.nodes.items())
            if status is None or node.status == status
        ]
        return web.json_response({"synced_block": self.tracker.checkpoint.number, "nodes": listed})

    @_locked
    def swarms(self, request: web.Request) -> web.Response:
        registry = self.tracker.registry
        return web.json_response(
            {
                "synced_block": self.tracker.checkpoint.number,
                "swarms": [swarm_json(registry, sid) for sid in sorted(registry.swarms)],
            }
        )

    @_locked
    def swarm(self, request: web.Request) -> web.Response:
        text = request.match_info["session_id"]
        try:
            key = parse_session_id(text)
        except ValueError as exc:
            return error(400, f"bad Session ID: {exc}")
        registry = self.tracker.registry
        swarm_id = registry.lookup().swarm_for_key(key)
        if swarm_id is None:
            return error(503, "no swarms yet (no active nodes synced)")
        body = swarm_json(registry, swarm_id)
        body["session_id"] = text.lower()
        body["swarm_space"] = str(swarm_space(key))
        return web.json_response(body)

    @_locked
    def pro(self, request: web.Request) -> web.Response:
        text = request.match_info["pubkey"].lower().removeprefix("0x")
        try:
            pubkey = from_hex(text)
        except ValueError:
            return error(400, "a Pro public key is 64 hex digits")
        if len(pubkey) != 32:
            return error(400, f"a Pro public key is 32 bytes, not {len(pubkey)}")
        expiry = self.tracker.registry.pro.get(pubkey)
        return web.json_response(
            {
                "pro_pubkey": text,
                "expiry": expiry,
                "active": expiry is not None and expiry > time.time(),
                "synced_block": self.tracker.checkpoint.number,
            }
        )

    @_locked
    def metrics_text(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self.metrics.render(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )
