"""The composition root: builds every component of a bridge from its configuration, serves
their routes on one aiohttp application, and runs their background tasks in a TaskGroup
until SIGTERM/SIGINT.

A component is any object with `setup_routes(app)` (its HTTP routes) and `async
run(stop)` (its background work, returning when `stop` is set); `build_components` lists
them. With a node key (`node.key_store` or `node.key_file`), the node also stores messages
for its swarm, routes onion requests and takes part in network votes (peer tests, BLS
signatures, aggregation); without one it only follows the chain and serves the registry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from sesh.node import guard, tls
from sesh.node.api import RegistryApi
from sesh.node.chain.rpc import RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker, TrackerSettings
from sesh.node.compat import SessionEndpoints
from sesh.node.config import NodeConfig
from sesh.node.identity import NodeIdentity, load_identity
from sesh.node.metrics import Metrics
from sesh.node.network import TrackerViews
from sesh.node.onion.relay import ServerRelay, ServerRelaySettings
from sesh.node.onion.router import OnionRouter, OnionSettings
from sesh.node.oxend import ChainNames, OxendApi
from sesh.node.storage.messages import MessageDB
from sesh.node.storage.peers import PeerClient
from sesh.node.storage.replication import StorageService, StorageSettings
from sesh.node.storage.rpc import StorageRpc
from sesh.node.votes.chain_tx import ChainClock, StakingChain, load_sender
from sesh.node.votes.db import VotesDB
from sesh.node.votes.service import VotesService
from sesh.protocol.storage_rpc import STORAGE_SERVER_VERSION
from sesh.web.explorer import WebExplorer

log = logging.getLogger("sesh.node")


class Component(Protocol):
    def setup_routes(self, app: web.Application) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass
class Bridge:
    """Everything one bridge runs, built from its configuration."""

    config: NodeConfig
    metrics: Metrics
    store: Store
    pool: RpcPool
    tracker: ChainTracker
    identity: NodeIdentity | None = None
    components: list[Any] = field(default_factory=list)
    # The network as this node sees it (with a node key): whom the guard exempts.
    views: TrackerViews | None = None

    def web_app(self, watch: guard.ConnectionWatch | None = None) -> web.Application:
        # The onion route reads its body itself, against its own limit.
        limit = max(1 << 20, self.config.onion.max_request_bytes + 1)
        app = web.Application(client_max_size=limit)
        http = self.config.http
        metrics = self.metrics
        views = self.views
        watch = watch or guard.ConnectionWatch(http)

        async def registered() -> frozenset[bytes]:
            assert views is not None
            return (await views.current()).known

        guard.install(
            app,
            guard.Guard(
                http,
                watch,
                own_key=self.identity.ed25519_pubkey if self.identity else None,
                registered=registered if views is not None else None,
                count=lambda result: metrics.inc("sesh_http_refused_total", result=result),
            ),
        )
        for component in self.components:
            component.setup_routes(app)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        """Serve and sync until `stop` is set, then shut down cleanly."""
        http = self.config.http
        watch = guard.ConnectionWatch(
            http, lambda reason: self.metrics.inc("sesh_http_refused_total", result=reason)
        )
        runner = web.AppRunner(
            self.web_app(watch), access_log=None, keepalive_timeout=http.idle_timeout
        )
        await runner.setup()
        server: asyncio.Server | None = None
        await self.pool.open()
        try:
            tls_context = tls.server_context(*tls.ensure_certificate(self.config.node.data_dir))
            server = await guard.serve(
                runner,
                self.config.node.listen_host,
                self.config.node.listen_port,
                watch,
                tls_context,
            )
            log.info(
                "listening on %s:%d (HTTP and HTTPS); syncing chain %d from block %d",
                self.config.node.listen_host,
                self.config.node.listen_port,
                self.config.chain.chain_id,
                self.tracker.checkpoint.number + 1,
            )
            async with asyncio.TaskGroup() as tasks:
                for component in self.components:
                    tasks.create_task(component.run(stop))
        finally:
            if server is not None:
                server.close()
            await runner.cleanup()
            for component in self.components:
                if hasattr(component, "close"):
                    component.close()
            await self.pool.close()
            self.tracker.close()
            self.store.close()
            log.info("stopped at block %d", self.tracker.checkpoint.number)


class TrackerComponent:
    """The chain tracker as a component: no routes, the sync loop in the background."""

    def __init__(self, tracker: ChainTracker):
        self.tracker = tracker

    def setup_routes(self, app: web.Application) -> None:
        """The registry's routes belong to RegistryApi."""

    async def run(self, stop: asyncio.Event) -> None:
        await self.tracker.run(stop)


def build_bridge(config: NodeConfig) -> Bridge:
    """Every component, built from the configuration. Raises IdentityError for an unusable
    node key, ChainTxError for an unusable submitter account and StoreError /
    MessageDBError / VotesDBError for an unusable database."""
    node_identity = load_identity(config)
    metrics = Metrics()
    identity = Identity(
        chain_id=config.chain.chain_id,
        contracts=tuple(a.lower() for a in config.contracts.addresses),
        start_block=config.contracts.start_block,
    )
    store = Store(config.database_path, identity)
    pool = RpcPool(
        config.chain.providers,
        chain_id=config.chain.chain_id,
        metrics=metrics,
        timeout=config.chain.request_timeout,
        max_lag_blocks=config.chain.max_lag_blocks,
    )
    settings = TrackerSettings(
        confirmations=config.chain.confirmations,
        max_block_range=config.chain.max_block_range,
        poll_interval=config.chain.poll_interval,
        reorg_history_blocks=config.chain.reorg_history_blocks,
    )
    tracker = ChainTracker(pool, store, config.contracts.addresses, metrics, settings)
    bridge = Bridge(
        config=config,
        metrics=metrics,
        store=store,
        pool=pool,
        tracker=tracker,
        identity=node_identity,
    )
    bridge.components = build_components(bridge)
    return bridge


def build_components(bridge: Bridge) -> list[Any]:
    """Every component of the bridge, in start order."""
    config = bridge.config
    identity = bridge.identity
    own_key = identity.ed25519_pubkey if identity else config.node.ed25519_pubkey
    names = None
    if config.contracts.names:
        names = ChainNames(
            bridge.pool,
            config.contracts.names,
            config.contracts.start_block,
            config.chain.max_block_range,
        )
    # The storage-server version this node reports to clients (get_service_nodes,
    # /get_stats/v1), as `info` reports it.
    served_version = list(STORAGE_SERVER_VERSION)
    oxend = OxendApi(bridge.tracker, names, served_version)
    components: list[Any] = [
        TrackerComponent(bridge.tracker),
        oxend,
        SessionEndpoints(own_key, served_version),
        RegistryApi(bridge.tracker, bridge.metrics, config.chain.chain_id, own_key),
        WebExplorer(
            bridge.tracker,
            bridge.pool,
            config.chain.chain_id,
            config.contracts.staking,
            config.contracts.start_block,
            config.chain.max_block_range,
            config.contracts.names,
        ),
    ]
    if identity is None:
        log.info("no node.key_file: onion requests and message storage are off")
        return components
    views = TrackerViews(bridge.tracker, identity.ed25519_pubkey)
    bridge.views = views
    peers = PeerClient(identity, timeout=config.storage.peer_timeout)
    db = MessageDB(config.node.data_dir / "messages.sqlite3", config.storage.max_bytes)
    tracker = bridge.tracker
    rpc = StorageRpc(
        db,
        identity,
        views,
        peers,
        bridge.metrics,
        oxend=oxend,
        height=lambda: tracker.checkpoint.number,
    )
    storage = StorageService(
        rpc,
        peers,
        StorageSettings(
            expiry_interval=config.storage.expiry_interval,
            sync_interval=config.storage.sync_interval,
            retry_interval=config.storage.retry_interval,
        ),
    )
    server_relay = None
    if config.onion.server_relay:
        server_relay = ServerRelay(
            bridge.metrics,
            ServerRelaySettings(
                timeout=config.onion.server_timeout,
                allow_private=config.onion.allow_private_servers,
                max_response_bytes=config.onion.max_server_response_bytes,
            ),
        )
        components.append(server_relay)
    router = OnionRouter(
        identity,
        views,
        rpc,
        bridge.metrics,
        OnionSettings(
            max_request_bytes=config.onion.max_request_bytes,
            relay_timeout=config.onion.relay_timeout,
        ),
        server_relay,
    )
    components += [storage, router]
    if config.votes.enabled:
        components.append(build_votes(bridge, views))
    else:
        log.info("votes.enabled = false: no peer tests, signatures or votes")
    return components


def build_votes(bridge: Bridge, views: TrackerViews) -> VotesService:
    """Peer tests, the BLS signer and the aggregator of a node with a key."""
    config = bridge.config
    assert bridge.identity is not None
    chain = StakingChain(bridge.pool, config.contracts.staking, config.chain.chain_id)
    return VotesService(
        config.votes,
        bridge.identity,
        bridge.tracker,
        views,
        VotesDB(config.node.data_dir / "votes.sqlite3"),
        chain,
        ChainClock(bridge.pool),
        load_sender(config.votes.submitter),
        bridge.metrics,
    )


async def run_until_signalled(bridge: Bridge) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bridge.run(stop)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
