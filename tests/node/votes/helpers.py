"""Building blocks of the vote tests that need no staking contract: a registry of nodes
with real Ed25519 and BLS keys, built by the real `Registry` from registration events, and
a real `ChainTracker` serving it (synced) to the signer and the API."""

from __future__ import annotations

from pathlib import Path

from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import DEVNET_CHAIN_ID
from sesh.node.chain.registry import Registry
from sesh.node.chain.rpc import RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker
from sesh.node.metrics import Metrics
from sesh.rules.events import Event
from tests.node.helpers import OPERATOR, block_hash, event

# Where the messages say the staking contract is (no code needed there: nothing reads it).
STAKING = "0x" + "5e" * 20


def node_keys_for(node_id: int) -> NodeKeys:
    return NodeKeys.from_seeds(bytes([node_id]) * 32, (node_id + 11).to_bytes(32, "big"))


def registration_events(
    node_id: int, keys: NodeKeys, block: int, endpoint: str, activate: bool = True
) -> list[Event]:
    """A node's registration with its real keys, its operator's stake and activation."""
    events = [
        event(
            "NodeRegistered",
            block,
            0,
            node_id=node_id,
            operator=OPERATOR,
            ed25519_pubkey=keys.ed25519_pubkey,
            ed25519_sig=keys.registration_signature(),
            bls_pubkey=keys.bls_pubkey.to_eip2537(),
            endpoint=endpoint,
            fee_bps=500,
        ),
        event("Contributed", block, 1, node_id=node_id, contributor=OPERATOR, amount=1, total=1),
    ]
    if activate:
        events.append(event("NodeActivated", block, 2, node_id=node_id))
    return events


class RegistryBuilder:
    """Applies blocks of events to a real registry, one block per call."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.block = 0

    def apply(self, events: list[Event]) -> None:
        self.registry.apply_block(self.block, block_hash(self.block), events)
        self.block += 1

    def add(self, node_id: int, keys: NodeKeys, endpoint: str, activate: bool = True) -> None:
        self.block += 1
        self.apply(registration_events(node_id, keys, self.block, endpoint, activate))

    def request_exit(self, node_id: int) -> None:
        self.block += 1
        self.apply(
            [event("ExitRequested", self.block, node_id=node_id, requester=OPERATOR, unlock_time=1)]
        )

    def exited(self, node_id: int) -> None:
        self.block += 1
        self.apply([event("NodeExited", self.block, node_id=node_id, reason=0)])


def synced_tracker(tmp_path: Path, rpc_url: str, registry: Registry) -> ChainTracker:
    """A tracker whose registry is `registry`, marked synced (it never polls the chain)."""
    metrics = Metrics()
    identity = Identity(DEVNET_CHAIN_ID, (STAKING,), 0)
    store = Store(tmp_path / "bridge.sqlite3", identity)
    tracker = ChainTracker(RpcPool([rpc_url], DEVNET_CHAIN_ID, metrics), store, [STAKING], metrics)
    tracker.registry = registry
    tracker.synced.set()
    return tracker
