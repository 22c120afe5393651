"""A network of `sesh node run` processes on loopback over one anvil: nodes registered and
activated on the events contract with real Ed25519 keys and `127.0.0.1:<port>` endpoints,
each with its key file, configuration, data directory and log. Readiness is polled, never
assumed after a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sesh.devchain import free_port
from sesh.node.identity import write_key_file
from tests.node.driver import EventsDriver, NodeKeys, registration

ROOT = Path(__file__).resolve().parents[2]


def http_json(url: str, timeout: float = 5.0) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode("utf-8", "replace")


def wait_until(predicate, timeout: float, what: str, on_timeout=None):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            value, last_error = None, exc
        if value:
            return value
        time.sleep(0.1)
    extra = on_timeout() if on_timeout else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error}){extra}")


@dataclass
class NodeProcess:
    index: int
    node_id: int
    keys: NodeKeys
    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ed25519(self) -> bytes:
        return self.keys.ed25519_pubkey

    @property
    def log(self) -> Path:
        return self.directory / "node.log"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sesh.cli", "node", "run", "--config", "node.toml"],
            cwd=self.directory,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def kill(self) -> None:
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int | None:
        if not self.alive:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def info(self) -> dict:
        status, body = http_json(self.url + "/info", timeout=3)
        assert status == 200, body
        return body

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ProcessNet:
    tmp_path: Path
    anvil_url: str
    driver: EventsDriver
    count: int
    storage: dict = field(default_factory=dict)
    nodes: list[NodeProcess] = field(default_factory=list)

    def register(self) -> None:
        """Register and activate every node in one transaction (so the swarms are built in
        one block)."""
        entries = []
        for i in range(self.count):
            keys = NodeKeys.derive(f"network-{i}")
            port = free_port()
            node = NodeProcess(i, i + 1, keys, port, self.tmp_path / f"node-{i}")
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

    def configure(self, node: NodeProcess) -> None:
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
relay_timeout = 15.0

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

    def wait_serving(self, node: NodeProcess, block: int, timeout: float = 120.0) -> dict:
        """Until the node is synced to `block`, knows itself and serves in a swarm."""

        def ready():
            if not node.alive:
                raise AssertionError(f"node {node.node_id} exited:\n{node.tail()}")
            info = node.info()
            return (
                info["synced"]
                and info["synced_block"] >= block
                and info["node_id"] == node.node_id
                and info
            )

        return wait_until(
            ready, timeout, f"node {node.node_id} to serve", lambda: "\n" + node.tail()
        )

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
        node = next(n for n in self.nodes if n.alive)
        status, body = http_json(node.url + "/swarms")
        assert status == 200
        return {int(s["swarm_id"]): [m["node_id"] for m in s["nodes"]] for s in body["swarms"]}

    def by_id(self, node_id: int) -> NodeProcess:
        return self.nodes[node_id - 1]

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
