"""The node registry: service nodes, their stakes and swarms, and Pro expiries — derived
only from the staking and Pro events. Pure: no I/O; the store persists what it changes.

Events are applied one block at a time (`apply_block`), in log order. The rules for each
event, and for events the contracts would never emit (unknown node, wrong state), are in
docs/protocol.md ("Registry"): an unexpected event is logged with its reason and changes
nothing, so every node derives the same registry from the same logs.

A node serves in swarms while Active or Exiting, if its Ed25519 registration signature
verifies and no earlier serving-capable node holds the same Ed25519 key. The swarm map
is updated at the end of every block that changed that set, seeded by the block's hash.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _text
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from sesh.protocol.swarm import SwarmLookup, SwarmState
from sesh.rules.events import Event

log = logging.getLogger("sesh.node.chain.registry")

OPEN, ACTIVE, EXITING, EXITED, CANCELLED = "open", "active", "exiting", "exited", "cancelled"
SERVING = frozenset({ACTIVE, EXITING})
GONE = frozenset({EXITED, CANCELLED})
EXIT_REASONS = {0: "finalized", 1: "network exit", 2: "removed", 3: "liquidated", 4: "cancelled"}
EXIT_REASON_CANCELLED = 4
ED25519_PUBKEY_BYTES = 32
ED25519_SIG_BYTES = 64
BLS_PUBKEY_BYTES = 128

# Kinds of persisted entities (the store's `kind` column).
KIND_NODE, KIND_SWARM, KIND_PRO, KIND_META = "node", "swarm", "pro", "meta"


def registration_message(ed25519_pubkey: bytes, bls_pubkey: bytes) -> bytes:
    """What a node's `ed25519_sig` signs: `ed25519_pubkey (32) || bls_pubkey (128)`."""
    return ed25519_pubkey + bls_pubkey


@functools.lru_cache(maxsize=1 << 16)
def verify_registration(ed25519_pubkey: bytes, ed25519_sig: bytes, bls_pubkey: bytes) -> str | None:
    """None if `ed25519_sig` is the Ed25519 signature of `ed25519_pubkey || bls_pubkey` by
    `ed25519_pubkey`, else the reason it is not."""
    if len(ed25519_sig) != ED25519_SIG_BYTES:
        return f"signature is {len(ed25519_sig)} bytes, not {ED25519_SIG_BYTES}"
    if len(bls_pubkey) != BLS_PUBKEY_BYTES:
        return f"BLS key is {len(bls_pubkey)} bytes, not {BLS_PUBKEY_BYTES}"
    try:
        VerifyKey(ed25519_pubkey).verify(
            registration_message(ed25519_pubkey, bls_pubkey), ed25519_sig
        )
    except BadSignatureError:
        return "Ed25519 signature does not verify"
    except Exception as exc:  # an invalid point is not a valid key  # noqa: BLE001
        return f"invalid Ed25519 key: {exc}"
    return None


def _optional(value: str | int | None) -> str:
    """The JSON of a string, an int or None, as `json.dumps` writes it."""
    if value is None:
        return "null"
    if type(value) is str:
        return _text(value)
    return repr(int(value))


@dataclass
class Node:
    """A registered service node as the events describe it."""

    node_id: int
    operator: str
    ed25519_pubkey: bytes
    ed25519_sig: bytes
    bls_pubkey: bytes
    endpoint: str
    fee_bps: int
    registered_block: int
    status: str = OPEN
    contributions: dict[str, int] = field(default_factory=dict)
    # Why the node is kept out of swarms whatever its status (bad signature, key taken).
    excluded: str | None = None
    activated_block: int | None = None
    exit_requested_block: int | None = None
    exit_unlock_time: int | None = None
    exited_block: int | None = None
    exit_reason: int | None = None
    rewards_claimed: int = 0
    stake_claimed: int = 0
    # The JSON of the fields no event changes, made once (hex encoding is not free), as a
    # dict and as the text `json_text` starts with.
    _fixed_json: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _fixed_text: str | None = field(default=None, repr=False, compare=False)

    @property
    def stake(self) -> int:
        return sum(self.contributions.values())

    @property
    def serving(self) -> bool:
        return self.status in SERVING and self.excluded is None

    def _fixed(self) -> dict[str, Any]:
        if self._fixed_json is None:
            self._fixed_json = {
                "node_id": self.node_id,
                "operator": self.operator,
                "ed25519_pubkey": self.ed25519_pubkey.hex(),
                "ed25519_sig": self.ed25519_sig.hex(),
                "bls_pubkey": self.bls_pubkey.hex(),
                "fee_bps": self.fee_bps,
                "registered_block": self.registered_block,
            }
        return self._fixed_json

    def to_json(self) -> dict[str, Any]:
        return {
            **self._fixed(),
            "endpoint": self.endpoint,
            "status": self.status,
            "contributions": dict(sorted(self.contributions.items())),
            "excluded": self.excluded,
            "activated_block": self.activated_block,
            "exit_requested_block": self.exit_requested_block,
            "exit_unlock_time": self.exit_unlock_time,
            "exited_block": self.exited_block,
            "exit_reason": self.exit_reason,
            "rewards_claimed": self.rewards_claimed,
            "stake_claimed": self.stake_claimed,
        }

    def json_text(self) -> str:
        """`json.dumps(self.to_json())`, written directly: a catch-up stores every node it
        touches once per range, and the generic encoder costs several times more."""
        prefix = self._fixed_text
        if prefix is None:
            prefix = self._fixed_text = json.dumps(self._fixed())[:-1]
        contributions = self.contributions
        pairs = ", ".join([f"{_text(k)}: {contributions[k]!r}" for k in sorted(contributions)])
        return (
            f'{prefix}, "endpoint": {_text(self.endpoint)}, "status": {_text(self.status)}, '
            f'"contributions": {{{pairs}}}, "excluded": {_optional(self.excluded)}, '
            f'"activated_block": {_optional(self.activated_block)}, '
            f'"exit_requested_block": {_optional(self.exit_requested_block)}, '
            f'"exit_unlock_time": {_optional(self.exit_unlock_time)}, '
            f'"exited_block": {_optional(self.exited_block)}, '
            f'"exit_reason": {_optional(self.exit_reason)}, '
            f'"rewards_claimed": {self.rewards_claimed!r}, '
            f'"stake_claimed": {self.stake_claimed!r}}}'
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(
            node_id=int(data["node_id"]),
            operator=data["operator"],
            ed25519_pubkey=bytes.fromhex(data["ed25519_pubkey"]),
            ed25519_sig=bytes.fromhex(data["ed25519_sig"]),
            bls_pubkey=bytes.fromhex(data["bls_pubkey"]),
            endpoint=data["endpoint"],
            fee_bps=int(data["fee_bps"]),
            registered_block=int(data["registered_block"]),
            status=data["status"],
            contributions={k: int(v) for k, v in data["contributions"].items()},
            excluded=data.get("excluded"),
            activated_block=data.get("activated_block"),
            exit_requested_block=data.get("exit_requested_block"),
            exit_unlock_time=data.get("exit_unlock_time"),
            exited_block=data.get("exited_block"),
            exit_reason=data.get("exit_reason"),
            rewards_claimed=int(data.get("rewards_claimed", 0)),
            stake_claimed=int(data.get("stake_claimed", 0)),
        )


@dataclass
class Changes:
    """What a range of blocks changed (the store commits a range at once): the entities
    to persist (kind, key) with their state before the range (JSON text, None if absent)
    for the undo journal, and each applied block's hash and event count."""

    before: dict[tuple[str, str], Any] = field(default_factory=dict)
    blocks: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    events: int = 0
    rejected: int = 0


class Registry:
    """The registry state and the rules that change it."""

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.pro: dict[bytes, int] = {}
        self.swarm_state = SwarmState()
        self.meta: dict[str, Any] = {}
        # Ed25519 key -> the node that holds it for serving (not gone, not excluded).
        self._key_holder: dict[bytes, int] = {}
        self._lookup: SwarmLookup | None = None
        # The JSON text the store holds for each entity: the before-image of the next
        # range that changes it, without encoding it again.
        self._persisted: dict[tuple[str, str], str] = {}

    def persisted(self, written: dict[tuple[str, str], str | None]) -> None:
        """Told by the store what it now holds for these entities (None: deleted)."""
        for key, text in written.items():
            if text is None:
                self._persisted.pop(key, None)
            else:
                self._persisted[key] = text

    # ----- reading

    @property
    def swarms(self) -> Mapping[int, list[int]]:
        """swarm id -> sorted node ids of its members (read only)."""
        return self.swarm_state.members

    def node_swarm(self) -> dict[int, int]:
        """node id -> swarm id, for every node in a swarm."""
        return {n: sid for sid, members in self.swarms.items() for n in members}

    def lookup(self) -> SwarmLookup:
        if self._lookup is None:
            self._lookup = SwarmLookup(self.swarms)
        return self._lookup

    def node_by_ed25519(self, pubkey: bytes) -> Node | None:
        node_id = self._key_holder.get(pubkey)
        return self.nodes.get(node_id) if node_id is not None else None

    def entity(self, kind: str, key: str) -> Any:
        """The JSON of one persisted entity, or None if it does not exist."""
        if kind == KIND_NODE:
            node = self.nodes.get(int(key))
            return node.to_json() if node else None
        if kind == KIND_SWARM:
            members = self.swarms.get(int(key))
            return list(members) if members is not None else None
        if kind == KIND_PRO:
            return self.pro.get(bytes.fromhex(key))
        if kind == KIND_META:
            return self.meta.get(key)
        raise ValueError(f"unknown kind {kind}")

    def entity_text(self, kind: str, key: str) -> str | None:
        """`json.dumps(self.entity(kind, key))` (None if the entity does not exist), written
        directly for the kinds a catch-up writes by the thousand."""
        if kind == KIND_NODE:
            node = self.nodes.get(int(key))
            return node.json_text() if node else None
        if kind == KIND_PRO:
            expiry = self.pro.get(bytes.fromhex(key))
            return None if expiry is None else repr(int(expiry))
        if kind == KIND_SWARM:
            members = self.swarms.get(int(key))
            return None if members is None else f"[{', '.join(map(repr, members))}]"
        value = self.entity(kind, key)
        return None if value is None else json.dumps(value)

    def entities(self) -> Iterator[tuple[str, str, Any]]:
        """Every persisted entity as (kind, key, JSON), in a fixed order."""
        for node_id in sorted(self.nodes):
            yield KIND_NODE, str(node_id), self.nodes[node_id].to_json()
        for sid in sorted(self.swarms):
            yield KIND_SWARM, str(sid), list(self.swarms[sid])
        for pubkey in sorted(self.pro):
            yield KIND_PRO, pubkey.hex(), self.pro[pubkey]
        for name in sorted(self.meta):
            yield KIND_META, name, self.meta[name]

    # ----- loading (from the store)

    @classmethod
    def from_entities(cls, rows: Iterable[tuple[str, str, Any]]) -> Registry:
        registry = cls()
        swarms: dict[int, list[int]] = {}
        for kind, key, value in rows:
            if kind == KIND_NODE:
                registry.nodes[int(key)] = Node.from_json(value)
            elif kind == KIND_SWARM:
                swarms[int(key)] = [int(n) for n in value]
            elif kind == KIND_PRO:
                registry.pro[bytes.fromhex(key)] = int(value)
            elif kind == KIND_META:
                registry.meta[key] = value
            else:
                raise ValueError(f"unknown kind {kind!r} in the store")
        registry.swarm_state = SwarmState(swarms)
        for node_id in sorted(registry.nodes):
            node = registry.nodes[node_id]
            if node.status not in GONE and node.excluded is None:
                registry._key_holder[node.ed25519_pubkey] = node_id
        return registry

    # ----- applying

    def apply_block(
        self,
        block_number: int,
        block_hash: bytes,
        events: list[Event],
        changes: Changes | None = None,
    ) -> Changes:
        """Apply one block's events (in log order) and update the swarms if the set of
        serving nodes changed. Adds to `changes` (the range's, or a new one) what changed,
        with the before-images, and returns it."""
        if changes is None:
            changes = Changes()
        changes.blocks[block_number] = (block_hash, len(events))
        serving_before: dict[int, bool] = {}
        for event in events:
            changes.events += 1
            handler = _HANDLERS.get(event.name)
            if handler is None:  # decode_log only returns known events
                raise AssertionError(event.name)
            reason = handler(self, event, changes, serving_before)
            if reason is not None:
                changes.rejected += 1
                log.warning(
                    "ignored %s at block %d log %d: %s",
                    event.name,
                    event.block_number,
                    event.log_index,
                    reason,
                )
        joins = [n for n, was in serving_before.items() if not was and self.nodes[n].serving]
        leaves = [n for n, was in serving_before.items() if was and not self.nodes[n].serving]
        if joins or leaves:
            before = self.swarm_state.update(joins, leaves, block_hash)
            for sid, members in before.items():
                key = (KIND_SWARM, str(sid))
                if key not in changes.before:
                    changes.before[key] = None if members is None else json.dumps(members)
            self._lookup = None
        return changes

    def _touch(self, changes: Changes, kind: str, key: str) -> None:
        """Record the before-image of an entity the first time the range changes it."""
        entry = (kind, key)
        if entry not in changes.before:
            text = self._persisted.get(entry)
            changes.before[entry] = text if text is not None else self.entity_text(kind, key)

    def _touch_node(self, node: Node, changes: Changes, serving_before: dict[int, bool]) -> None:
        self._touch(changes, KIND_NODE, str(node.node_id))
        serving_before.setdefault(node.node_id, node.serving)

    def _known(self, event: Event, need: str | None = None, live: bool = False) -> Node | str:
        """The event's node, or why the event does not apply to it: no such node, not in
        the `need`ed status, or (`live`) already exited or cancelled."""
        node = self.nodes.get(event.args["node_id"])
        if node is None:
            return f"no node {event.args['node_id']}"
        if need is not None and node.status != need:
            return f"node {node.node_id} is {node.status}, not {need}"
        if live and node.status in GONE:
            return f"node {node.node_id} is already {node.status}"
        return node

    # ----- the handlers: return None if applied, else why the event was ignored

    def _on_registered(self, event: Event, changes: Changes, serving: dict) -> str | None:
        a = event.args
        node_id = a["node_id"]
        if node_id in self.nodes:
            return f"node {node_id} is already registered"
        node = Node(
            node_id=node_id,
            operator=a["operator"],
            ed25519_pubkey=a["ed25519_pubkey"],
            ed25519_sig=a["ed25519_sig"],
            bls_pubkey=a["bls_pubkey"],
            endpoint=a["endpoint"],
            fee_bps=a["fee_bps"],
            registered_block=event.block_number,
        )
        problem = verify_registration(node.ed25519_pubkey, node.ed25519_sig, node.bls_pubkey)
        if problem is not None:
            node.excluded = f"bad registration signature: {problem}"
            log.warning("node %d kept out of swarms: %s", node_id, node.excluded)
        else:
            holder = self._key_holder.get(node.ed25519_pubkey)
            if holder is not None:
                node.excluded = f"Ed25519 key already held by node {holder}"
                log.warning("node %d kept out of swarms: %s", node_id, node.excluded)
            else:
                self._key_holder[node.ed25519_pubkey] = node_id
        self._touch(changes, KIND_NODE, str(node_id))
        serving.setdefault(node_id, False)
        self.nodes[node_id] = node
        return None

    def _on_contributed(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event)
        if isinstance(node, str):
            return node
        a = event.args
        self._touch_node(node, changes, serving)
        node.contributions[a["contributor"]] = (
            node.contributions.get(a["contributor"], 0) + a["amount"]
        )
        if node.stake != a["total"]:
            log.warning(
                "node %d: Contributed logs total %d but its contributions sum to %d",
                node.node_id,
                a["total"],
                node.stake,
            )
        return None

    def _on_withdrawn(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event)
        if isinstance(node, str):
            return node
        a = event.args
        held = node.contributions.get(a["contributor"], 0)
        if a["amount"] > held:
            return f"{a['contributor']} withdraws {a['amount']} but contributed {held}"
        self._touch_node(node, changes, serving)
        if held == a["amount"]:
            del node.contributions[a["contributor"]]
        else:
            node.contributions[a["contributor"]] = held - a["amount"]
        return None

    def _on_activated(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event, need=OPEN)
        if isinstance(node, str):
            return node
        self._touch_node(node, changes, serving)
        node.status = ACTIVE
        node.activated_block = event.block_number
        return None

    def _on_exit_requested(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event, need=ACTIVE)
        if isinstance(node, str):
            return node
        self._touch_node(node, changes, serving)
        node.status = EXITING
        node.exit_requested_block = event.block_number
        node.exit_unlock_time = event.args["unlock_time"]
        return None

    def _on_exited(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event, live=True)
        if isinstance(node, str):
            return node
        reason = event.args["reason"]
        if reason not in EXIT_REASONS:
            log.warning("node %d exits with unknown reason code %d", node.node_id, reason)
        self._touch_node(node, changes, serving)
        node.status = CANCELLED if reason == EXIT_REASON_CANCELLED else EXITED
        node.exited_block = event.block_number
        node.exit_reason = reason
        if self._key_holder.get(node.ed25519_pubkey) == node.node_id:
            del self._key_holder[node.ed25519_pubkey]
        return None

    def _on_endpoint(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event, live=True)
        if isinstance(node, str):
            return node
        self._touch_node(node, changes, serving)
        node.endpoint = event.args["endpoint"]
        return None

    def _on_claimed(self, event: Event, changes: Changes, serving: dict) -> str | None:
        node = self._known(event)
        if isinstance(node, str):
            return node
        self._touch_node(node, changes, serving)
        node.rewards_claimed += event.args["rewards"]
        node.stake_claimed += event.args["stake"]
        return None

    def _set_meta(self, changes: Changes, name: str, value: Any) -> None:
        self._touch(changes, KIND_META, name)
        self.meta[name] = value

    def _on_distributed(self, event: Event, changes: Changes, serving: dict) -> str | None:
        a = event.args
        total = self.meta.get("rewards_distributed", 0) + a["amount"]
        self._set_meta(changes, "rewards_distributed", total)
        self._set_meta(changes, "reward_per_node_last", a["reward_per_node"])
        self._set_meta(changes, "active_nodes_last", a["active_nodes"])
        return None

    def _on_requirement(self, event: Event, changes: Changes, serving: dict) -> str | None:
        self._set_meta(changes, "staking_requirement", event.args["amount"])
        return None

    def _on_pro(self, event: Event, changes: Changes, serving: dict) -> str | None:
        pubkey = event.args["pro_pubkey"]
        self._touch(changes, KIND_PRO, pubkey.hex())
        self.pro[pubkey] = event.args["expiry"]
        return None


_HANDLERS = {
    "NodeRegistered": Registry._on_registered,
    "Contributed": Registry._on_contributed,
    "ContributionWithdrawn": Registry._on_withdrawn,
    "NodeActivated": Registry._on_activated,
    "ExitRequested": Registry._on_exit_requested,
    "NodeExited": Registry._on_exited,
    "EndpointUpdated": Registry._on_endpoint,
    "RewardsDistributed": Registry._on_distributed,
    "Claimed": Registry._on_claimed,
    "StakingRequirementUpdated": Registry._on_requirement,
    "ProSubscribed": Registry._on_pro,
    "ProGranted": Registry._on_pro,
    "ProRevoked": Registry._on_pro,
}
