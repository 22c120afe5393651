"""What the onion router and the message store need to know about the network, as an
immutable snapshot of the registry: the serving nodes (keys, endpoints, swarms), which
swarm holds which account, and where this node stands.

`view_from_registry` is pure. `TrackerViews` keeps a snapshot of the chain tracker's
registry, rebuilt (under the tracker's lock, so never from a half-applied range) the first
time it is asked for after a commit; `StaticViews` serves a fixed one (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sesh.crypto.key_files import x25519_from_ed25519
from sesh.node.chain.registry import Registry
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.swarm import SwarmLookup

# Session's value for "no swarm" in get_swarm answers.
INVALID_SWARM_ID = (1 << 64) - 1


def _x25519(ed25519: bytes) -> bytes | None:
    try:
        return x25519_from_ed25519(ed25519)
    except ValueError:
        return None


@dataclass(frozen=True)
class NetworkView:
    """The serving nodes and swarms at one checkpoint, seen from one node."""

    nodes: Mapping[bytes, NodeInfo]
    swarms: Mapping[int, tuple[bytes, ...]]
    # Ed25519 keys of every registered node that was ever allowed to serve (gone ones
    # included): the senders whose hand-offs are accepted.
    known: frozenset[bytes]
    own_ed25519: bytes | None
    ready: bool
    lookup: SwarmLookup = field(init=False, repr=False, compare=False)
    # This node's swarm and its other members, worked out once: every storage request asks.
    _own_swarm: int | None = field(init=False, repr=False, compare=False)
    _peers: tuple[NodeInfo, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookup", SwarmLookup(self.swarms))
        own = self.own
        own_swarm = own.swarm_id if own else None
        object.__setattr__(self, "_own_swarm", own_swarm)
        peers = tuple(n for n in self.members(own_swarm) if n.ed25519 != self.own_ed25519)
        object.__setattr__(self, "_peers", peers)

    @property
    def own(self) -> NodeInfo | None:
        """This node, if it serves."""
        return self.nodes.get(self.own_ed25519) if self.own_ed25519 else None

    @property
    def own_swarm(self) -> int | None:
        return self._own_swarm

    def swarm_for(self, account_key: bytes) -> int | None:
        """The swarm holding a 32-byte account key (None before any swarm exists)."""
        return self.lookup.swarm_for_key(account_key)

    def is_ours(self, account_key: bytes) -> bool:
        own = self._own_swarm
        return own is not None and self.swarm_for(account_key) == own

    def members(self, swarm_id: int | None) -> list[NodeInfo]:
        if swarm_id is None:
            return []
        return [self.nodes[key] for key in self.swarms.get(swarm_id, ())]

    def peers(self) -> list[NodeInfo]:
        """The other members of this node's swarm."""
        return list(self._peers)

    def is_peer(self, ed25519: bytes) -> bool:
        return ed25519 != self.own_ed25519 and any(n.ed25519 == ed25519 for n in self.peers())

    def swarm_json(self, swarm_id: int | None) -> dict:
        """Session's `get_swarm` / 421 body (without the time field)."""
        if swarm_id is None:
            return {"snodes": [], "swarm": f"{INVALID_SWARM_ID:x}"}
        return {
            "snodes": [n.to_json() for n in self.members(swarm_id)],
            "swarm": f"{swarm_id:x}",
        }

    def layout(self) -> tuple:
        """The swarm map, comparable between views (changes trigger hand-offs)."""
        return tuple(sorted(self.swarms.items()))


def view_from_registry(registry: Registry, own_ed25519: bytes | None, ready: bool) -> NetworkView:
    """The snapshot of a registry. Nodes whose Ed25519 key has no X25519 form (cannot be
    an onion hop) are left out of everything."""
    node_swarm = registry.node_swarm()
    nodes: dict[bytes, NodeInfo] = {}
    known: set[bytes] = set()
    for node in registry.nodes.values():
        if node.excluded is not None:
            continue
        known.add(node.ed25519_pubkey)
        if not node.serving:
            continue
        x25519 = _x25519(node.ed25519_pubkey)
        if x25519 is None:
            continue
        nodes[node.ed25519_pubkey] = NodeInfo(
            node.node_id, node.ed25519_pubkey, x25519, node.endpoint, node_swarm.get(node.node_id)
        )
    swarms = {
        sid: tuple(
            registry.nodes[n].ed25519_pubkey
            for n in members
            if registry.nodes[n].ed25519_pubkey in nodes
        )
        for sid, members in registry.swarms.items()
    }
    return NetworkView(nodes, swarms, frozenset(known), own_ed25519, ready)


def static_view(
    nodes: Iterable[NodeInfo], own_ed25519: bytes | None, ready: bool = True
) -> NetworkView:
    """A view of given nodes (their `swarm_id`s make the swarms)."""
    by_key = {n.ed25519: n for n in nodes}
    swarms: dict[int, list[bytes]] = {}
    for n in sorted(by_key.values(), key=lambda n: n.node_id):
        if n.swarm_id is not None:
            swarms.setdefault(n.swarm_id, []).append(n.ed25519)
    return NetworkView(
        by_key,
        {sid: tuple(keys) for sid, keys in swarms.items()},
        frozenset(by_key),
        own_ed25519,
        ready,
    )


class ViewSource(Protocol):
    async def current(self) -> NetworkView: ...


class StaticViews:
    """A fixed view (or one a test swaps)."""

    def __init__(self, view: NetworkView):
        self.view = view

    async def current(self) -> NetworkView:
        return self.view


class TrackerViews:
    """The view of the chain tracker's registry, rebuilt after each commit or rollback."""

    def __init__(self, tracker, own_ed25519: bytes | None):
        self.tracker = tracker
        self.own_ed25519 = own_ed25519
        self._key: tuple | None = None
        self._view: NetworkView | None = None

    async def current(self) -> NetworkView:
        tracker = self.tracker
        ready = tracker.synced.is_set()
        key = (id(tracker.registry), tracker.checkpoint)
        if not ready and self._view is not None:
            # Catching up: ranges are being applied back to back; nothing is served, so
            # the last snapshot (marked not ready) will do, without waiting for the lock.
            if self._view.ready:
                self._view = self._with_ready(False)
            return self._view
        if key != self._key or self._view is None:
            async with tracker.lock:
                key = (id(tracker.registry), tracker.checkpoint)
                self._view = view_from_registry(tracker.registry, self.own_ed25519, ready)
                self._key = key
        elif self._view.ready != ready:
            self._view = self._with_ready(ready)
        return self._view

    def _with_ready(self, ready: bool) -> NetworkView:
        view = self._view
        assert view is not None
        return NetworkView(view.nodes, view.swarms, view.known, self.own_ed25519, ready)
