"""A network of `sesh node run` processes on loopback over one anvil: nodes registered and
activated on the events contract with real Ed25519 keys and `127.0.0.1:<port>` endpoints,
each with its key file, configuration, data directory and log. Readiness is polled, never
assumed after a sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sesh.crypto.key_files import write_key_file
from sesh.devnet.chain import free_port
from sesh.devnet.processes import REPO_ROOT, NodeProcess, http_json, wait_until
from tests.node.driver import EventsDriver, NodeKeys, registration

ROOT = REPO_ROOT
__all__ = ["ROOT", "NetNode", "ProcessNet", "http_json", "wait_until"]


@dataclass
class NetNode(NodeProcess):
    """A node of the process network: its place in it and its keys."""

    index: int = 0
    keys: NodeKeys | None = None

    @property
    def ed25519(self) -> bytes:
        assert self.keys is not None
        return self.keys.ed25519_pubkey


@dataclass
class ProcessNet:
    tmp_path: Path
    anvil_url: str
    driver: EventsDriver
    count: int
    storage: dict = field(default_factory=dict)
    # More [onion] settings (e.g. allow_private_servers for a file server on loopback).
    onion: dict = field(default_factory=dict)
    nodes: list[NetNode] = field(default_factory=list)

    def register(self) -> None:
        """Register and activate every node in one transaction (so the swarms are built in
        one block)."""
        entries = []
        for i in range(self.count):
            keys = NodeKeys.derive(f"network-{i}")
            port = free_port()
            node = NetNode(i + 1, port, self.tmp_path / f"node-{i}", index=i, keys=keys)
            self.nodes.append(node)
            entries.append(
                registration(
                    node.node_id,
                    self.driver.operator(node.node_id),
                    keys=keys,
                    endpoint=f"127.0.0.1:{port}",
                )
            )
        self.driver.send(self.driver.contract.functions.register_many(entries, True))

    def configure(self, node: NetNode) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        key_file = node.directory / "node.key"
        if not key_file.exists():
            write_key_file(key_file, node.keys.signing_key.encode())
        storage = {
            "expiry_interval": 1.0,
            "sync_interval": 5.0,
            "peer_timeout": 10.0,
            **self.storage,
        }
        storage_lines = "\n".join(f"{k} = {v}" for k, v in storage.items())
        onion = {"relay_timeout": 15.0, **self.onion}
        onion_lines = "\n".join(
            f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in onion.items()
        )
        (node.directory / "node.toml").write_text(
            f"""
[chain]
chain_id = {self.driver.w3.eth.chain_id}
providers = ["{self.anvil_url}"]
confirmations = 0
poll_interval = 0.5
max_block_range = 500

[contracts]
staking = "{self.driver.address}"
start_block = {self.driver.deploy_block}

[node]
data_dir = "data"
listen = "127.0.0.1:{node.port}"
key_file = "node.key"

[storage]
{storage_lines}

[onion]
{onion_lines}

[votes]
# Peer tests and votes are tested by test_votes_*.py (on the real staking contract).
enabled = false

[log]
level = "info"
"""
        )

    def start(self) -> ProcessNet:
        self.register()
        for node in self.nodes:
            self.configure(node)
            node.start()
        block = self.driver.w3.eth.block_number
        for node in self.nodes:
            self.wait_serving(node, block)
        return self

    def wait_serving(self, node: NetNode, block: int, timeout: float = 120.0) -> dict:
        return node.wait_serving(block, timeout)

    def wait_synced(self, block: int, timeout: float = 120.0) -> None:
        for node in self.nodes:
            if node.alive:
                wait_until(
                    lambda n=node: n.info()["synced_block"] >= block,
                    timeout,
                    f"node {node.node_id} to sync block {block}",
                    lambda n=node: "\n" + n.tail(),
                )

    def swarms(self) -> dict[int, list[int]]:
        """swarm id -> node ids, as the first live node's registry has it."""
        return next(n for n in self.nodes if n.alive).swarms()

    def by_id(self, node_id: int) -> NetNode:
        return self.nodes[node_id - 1]

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
