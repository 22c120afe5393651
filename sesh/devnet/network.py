"""The devnet's service nodes: keys, registration on the staking contract (some delegated
through reserved slots and public contributions), one bridge process per node on
loopback, and the wait until they all agree on the swarm map.

Each node lives in `<root>/node-<i>/`: its encrypted keystore (`keys.json`, the format of
`sesh keys new`, with a cheaper KDF than operators get: sixteen keystores open at once on
one machine) and the keystore's password file, `node.toml`, the bridge's databases and
its log (`node.log`). Node `i` submits its votes' transactions from anvil's unlocked
account `SUBMITTER_BASE + i - 1`, which holds ETH only.

Registration runs in an Ape network context (the SDK); the rest needs no Ape.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sesh.crypto import keystore
from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.processes import NodeProcess, wait_until

# Anvil accounts: 0 deploys; 1-3 run solo nodes; 4 runs delegated nodes, 5 holds their
# reserved slots, 6 contributes publicly; 7 and 8 are the story's users; node i's bridge
# submits from account SUBMITTER_BASE + i - 1.
SOLO_OPERATORS = (1, 2, 3)
DELEGATED_OPERATOR = 4
RESERVED_DELEGATOR = 5
PUBLIC_CONTRIBUTOR = 6
SUBMITTER_BASE = 10
SOLO_FEE_BPS = 500
DELEGATED_FEE_BPS = 1_000
# A fresh keystore's scrypt cost here: 2**14 (16 MiB) instead of 2**17 (128 MiB).
DEVNET_SCRYPT_N = 2**14
DEFAULT_PORT = 22021

# The vote periods of the devnet: a node unreachable for 15 s is removed.
DEVNET_VOTES = {
    "test_interval": 3.0,
    "random_peers": 2,
    "test_timeout": 3.0,
    "remove_after": 15.0,
    "liquidate_after": 3600.0,
    "retry_interval": 3.0,
    "takeover_delay": 20.0,
    "sign_timeout": 3.0,
}


@dataclass
class DevnetNode:
    """One planned node: its keys, who stakes what, where it listens."""

    index: int
    keys: NodeKeys
    operator: int
    fee_bps: int
    stake: Decimal
    port: int
    submitter: str
    reserved: list[tuple[int, Decimal]] = field(default_factory=list)
    contributions: list[tuple[int, Decimal]] = field(default_factory=list)
    node_id: int = 0
    process: NodeProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def delegated(self) -> bool:
        return bool(self.reserved or self.contributions)


def plan_nodes(count: int, requirement: Decimal, ports: list[int], submitters: list[str]):
    """Two thirds of the nodes solo (operators 1-3 in turn), a third shared: the operator
    stakes a quarter, a reserved slot holds a quarter for a named delegator, and the rest
    comes from a public contribution."""
    delegated = count // 3
    nodes = []
    for i in range(1, count + 1):
        keys = NodeKeys.generate()
        port, submitter = ports[i - 1], submitters[i - 1]
        if i <= count - delegated:
            operator = SOLO_OPERATORS[(i - 1) % len(SOLO_OPERATORS)]
            nodes.append(DevnetNode(i, keys, operator, SOLO_FEE_BPS, requirement, port, submitter))
        else:
            quarter = requirement / 4
            nodes.append(
                DevnetNode(
                    i, keys, DELEGATED_OPERATOR, DELEGATED_FEE_BPS, quarter, port, submitter,
                    reserved=[(RESERVED_DELEGATOR, quarter)],
                    contributions=[
                        (RESERVED_DELEGATOR, quarter),
                        (PUBLIC_CONTRIBUTOR, requirement - 2 * quarter),
                    ],
                )
            )  # fmt: skip
    return nodes


def node_config(node: DevnetNode, rpc_url: str, manifest: Path) -> str:
    votes = "\n".join(f"{k} = {v}" for k, v in DEVNET_VOTES.items())
    return f"""# Devnet node {node.index} (written by `make devnet`; see docs/bridge.md)
[chain]
providers = ["{rpc_url}"]
confirmations = 0
poll_interval = 0.5

[contracts]
manifest = "{manifest}"

[node]
data_dir = "data"
listen = "{node.endpoint}"
key_store = "keys.json"
key_store_password_file = "password"

[storage]
expiry_interval = 2.0
sync_interval = 5.0
peer_timeout = 5.0

[onion]
# The devnet's file server is on loopback; attachments up to 10 MB pass (Session's limit).
allow_private_servers = true
max_request_bytes = 12582912

[votes]
{votes}

[votes.submitter]
kind = "unlocked"
address = "{node.submitter}"

[log]
level = "info"
"""


class DevnetNetwork:
    """The devnet's nodes, from keys to running bridges."""

    def __init__(self, root: Path, rpc_url: str, manifest: Path, nodes: list[DevnetNode]):
        self.root = root
        self.rpc_url = rpc_url
        self.manifest = manifest
        self.nodes = nodes

    def by_id(self, node_id: int) -> DevnetNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    @property
    def live(self) -> list[DevnetNode]:
        return [n for n in self.nodes if n.process is not None and n.process.alive]

    # ----- on chain (inside an Ape network context)

    def fund(self, suite: Any, accounts: list[Any], deployer: Any) -> None:
        """Top up the stakers from the deployer where the devnet's 100,000 SESH each do
        not cover their part (more than twelve nodes)."""
        needs: dict[int, Decimal] = {}
        for node in self.nodes:
            needs[node.operator] = needs.get(node.operator, Decimal(0)) + node.stake
            for account, amount in node.contributions:
                needs[account] = needs.get(account, Decimal(0)) + amount
        for index, need in needs.items():
            held = suite.token.balance(accounts[index])
            if held < need:
                suite.token.transfer(accounts[index].address, need - held, deployer).send()

    def register(self, suite: Any, accounts: list[Any], advance: Callable[[], None]) -> None:
        """Register every node (and fill the shared ones); `advance` after each node."""
        staking = suite.staking
        for node in self.nodes:
            reserved = [(accounts[a].address, amount) for a, amount in node.reserved]
            staking.register(
                node.keys, node.endpoint, node.fee_bps, node.stake, accounts[node.operator],
                reserved,
            ).send()  # fmt: skip
            node.node_id = int(staking.contract.node_count())
            for account, amount in node.contributions:
                staking.contribute(node.node_id, amount, accounts[account]).send()
            advance()

    # ----- the bridges

    def write(self) -> None:
        """Every node's directory: keystore, password, node.toml (a fresh root)."""
        if self.root.exists():
            shutil.rmtree(self.root)
        for node in self.nodes:
            directory = self.root / f"node-{node.index}"
            directory.mkdir(parents=True)
            password = secrets.token_urlsafe(18)
            password_file = directory / "password"
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            keystore.create(directory / "keys.json", node.keys, password, DEVNET_SCRYPT_N)
            (directory / "node.toml").write_text(node_config(node, self.rpc_url, self.manifest))
            node.process = NodeProcess(node.node_id, node.port, directory)

    def start(self, block: int, advance: Callable[[], None], timeout: float = 120.0) -> None:
        """Start every bridge, then wait for each to serve (synced to `block`)."""
        for node in self.nodes:
            assert node.process is not None
            node.process.start()
        for node in self.nodes:
            assert node.process is not None
            node.process.wait_serving(block, timeout)
            advance()

    def swarm_maps(self) -> list[dict[int, list[int]]]:
        maps = []
        for node in self.live:
            assert node.process is not None
            maps.append(node.process.swarms())
        return maps

    def wait_agreement(
        self, block: int, timeout: float = 60.0, without: frozenset[int] = frozenset()
    ) -> dict[int, list[int]]:
        """Until every live bridge is synced to `block` and has the same swarm map (none
        of `without` in it); returns that map."""

        def agreed():
            for node in self.live:
                assert node.process is not None
                if node.process.info()["synced_block"] < block:
                    return None
            maps = self.swarm_maps()
            first = maps[0]
            members = {n for m in first.values() for n in m}
            if all(m == first for m in maps) and not members & without and first:
                return first
            return None

        return wait_until(agreed, timeout, "the bridges to agree on the swarm map", interval=0.3)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                node.process.stop()
