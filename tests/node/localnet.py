"""Nodes in one process: the real storage service and onion router of each node behind its
own aiohttp server on loopback, over a fixed view of the network (no chain). For the
storage and onion tests that need several nodes quickly, and for `bench/onion.py`.

The multi-process tests (`test_network.py`) run the same components inside `sesh node run`
with the chain tracker's view instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from sesh.devnet.chain import free_port
from sesh.node import guard
from sesh.node.config import HttpConfig
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import NetworkView, StaticViews, static_view
from sesh.node.onion.relay import ServerRelay, ServerRelaySettings
from sesh.node.onion.router import OnionRouter, OnionSettings
from sesh.node.storage.messages import MessageDB
from sesh.node.storage.peers import PeerClient
from sesh.node.storage.replication import StorageService, StorageSettings
from sesh.node.storage.rpc import StorageRpc
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.onion import Hop


def identity_for(label: str) -> NodeIdentity:
    return NodeIdentity.from_seed(hashlib.sha256(f"ed25519:{label}".encode()).digest())


class Clock:
    """Wall time plus an offset a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class LocalNode:
    identity: NodeIdentity
    info: NodeInfo
    views: StaticViews
    rpc: StorageRpc
    service: StorageService
    router: OnionRouter
    runner: web.AppRunner | None = None
    server: asyncio.Server | None = None
    watch: guard.ConnectionWatch | None = None
    metrics: Metrics = field(default_factory=Metrics)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def hop(self) -> Hop:
        return Hop(self.identity.ed25519_pubkey, self.identity.x25519_pubkey)

    @property
    def url(self) -> str:
        return self.info.url


@dataclass
class LocalNet:
    """`count` nodes; node i is in swarm `swarm_of(i)`."""

    tmp_path: Path
    count: int
    swarm_of: Callable[[int], int | None] = lambda i: 0
    max_bytes: int = 64 << 20
    relay_timeout: float = 10.0
    # Ports to listen on (free ones if not given).
    ports: list[int] | None = None
    clock: Clock = field(default_factory=Clock)
    settings: StorageSettings = field(
        default_factory=lambda: StorageSettings(expiry_interval=3600, sync_interval=3600)
    )
    nodes: list[LocalNode] = field(default_factory=list)
    # More routes for each node's app (e.g. the registry API's /info for peer tests).
    extra_routes: Callable[[LocalNode, web.Application], None] | None = None
    # Timeouts and rate limits as `sesh node run` applies them (none if not given).
    http: HttpConfig | None = None
    # Relay layers naming a server (None: refuse them, as a node without the relay does).
    server_relay: ServerRelaySettings | None = None
    max_request_bytes: int = 1 << 20

    async def start(self) -> LocalNet:
        infos = []
        identities = []
        for i in range(self.count):
            identity = identity_for(f"local-{i}")
            identities.append(identity)
            infos.append(
                NodeInfo(
                    node_id=i + 1,
                    ed25519=identity.ed25519_pubkey,
                    x25519=identity.x25519_pubkey,
                    endpoint=f"127.0.0.1:{self.ports[i] if self.ports else free_port()}",
                    swarm_id=self.swarm_of(i),
                )
            )
        for i, (identity, info) in enumerate(zip(identities, infos, strict=True)):
            views = StaticViews(static_view(infos, identity.ed25519_pubkey))
            db = MessageDB(self.tmp_path / f"node-{i}" / "messages.sqlite3", self.max_bytes)
            metrics = Metrics()
            peers = PeerClient(identity, timeout=5.0, clock=self.clock)
            rpc = StorageRpc(db, identity, views, peers, metrics, self.clock)
            service = StorageService(rpc, peers, self.settings)
            relay = None if self.server_relay is None else ServerRelay(metrics, self.server_relay)
            router = OnionRouter(
                identity,
                views,
                rpc,
                metrics,
                OnionSettings(
                    max_request_bytes=self.max_request_bytes, relay_timeout=self.relay_timeout
                ),
                relay,
            )
            node = LocalNode(identity, info, views, rpc, service, router, metrics=metrics)
            self.nodes.append(node)
            await self.serve(node)
        return self

    async def serve(self, node: LocalNode) -> None:
        app = web.Application(client_max_size=max(1 << 20, self.max_request_bytes) + 1)
        if self.http is not None:
            node.watch = guard.ConnectionWatch(
                self.http, lambda r: node.metrics.inc("sesh_http_refused_total", result=r)
            )

            async def registered(views=node.views) -> frozenset[bytes]:
                return (await views.current()).known

            guard.install(
                app,
                guard.Guard(
                    self.http,
                    node.watch,
                    node.identity.ed25519_pubkey,
                    registered,
                    lambda r: node.metrics.inc("sesh_http_refused_total", result=r),
                    clock=self.clock,
                ),
            )
        node.service.setup_routes(app)
        node.router.setup_routes(app)
        if self.extra_routes is not None:
            self.extra_routes(node, app)
        node.runner = web.AppRunner(app, access_log=None)
        await node.runner.setup()
        if node.watch is not None:
            node.server = await guard.serve(node.runner, node.info.host, node.info.port, node.watch)
        else:
            await web.TCPSite(node.runner, node.info.host, node.info.port).start()
        node.stop = asyncio.Event()
        node.tasks = [
            asyncio.create_task(node.service.run(node.stop)),
            asyncio.create_task(node.router.run(node.stop)),
        ]
        if node.router.server_relay is not None:
            node.tasks.append(asyncio.create_task(node.router.server_relay.run(node.stop)))
        await asyncio.sleep(0)

    async def halt(self, node: LocalNode) -> None:
        """Stop a node's server and background work (its database is closed)."""
        if node.server is not None:
            node.server.close()
            node.server = None
        if node.runner is not None:
            await node.runner.cleanup()
            node.runner = None
        node.stop.set()
        await asyncio.gather(*node.tasks, return_exceptions=True)
        node.service.close()

    async def close(self) -> None:
        for node in self.nodes:
            if node.runner is not None:
                await self.halt(node)

    def set_view(self, make: Callable[[LocalNode], NetworkView]) -> None:
        for node in self.nodes:
            node.views.view = make(node)

    async def __aenter__(self) -> LocalNet:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class NetInLoop:
    """A LocalNet kept running in a private event loop, for synchronous callers
    (hypothesis tests share one across examples)."""

    def __init__(self, tmp_path: Path, count: int):
        self.loop = asyncio.new_event_loop()
        self.net = LocalNet(tmp_path, count)
        self.loop.run_until_complete(self.net.start())

    def run(self, awaitable):
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        self.loop.run_until_complete(self.net.close())
        self.loop.close()
