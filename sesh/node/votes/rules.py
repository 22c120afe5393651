"""The rules of network votes, pure (no I/O, no clock): which peers a node tests, what it
signs, who aggregates, and when a set of signatures is a quorum. docs/protocol.md
("Network votes") specifies each of them; `peer_tests.py`, `votes.py` and
`aggregator.py` apply them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sesh.crypto import bls
from sesh.protocol.swarm import SwarmRandom

EXIT, REMOVE, LIQUIDATE = "exit", "remove", "liquidate"
ACTIONS = (EXIT, REMOVE, LIQUIDATE)
# The staking contract's functions for each action (same arguments).
CONTRACT_FUNCTIONS = {
    EXIT: "exit_with_signature",
    REMOVE: "remove_with_signature",
    LIQUIDATE: "liquidate_with_signature",
}
# The staking contract's constants (ServiceNodeStaking.vy).
MIN_EXIT_AGE = 7200
SIGNATURE_EXPIRY = 600
# The activations the contract remembers to tell the members at a signature's timestamp:
# if all of them are at or after it, the signature is refused ("too many activations
# since signing").
RECENT_ACTIVATIONS = 32
# A node must have failed at least this many tests in a row before it signs against it.
MIN_FAILED_TESTS = 2
# Domain of the peer-test sample's random stream (docs/protocol.md, "Peer tests").
PEER_TEST_DOMAIN = b"SESH_PEER_TEST_V1"
NETWORK_STATUSES = ("active", "exiting")


class VoteRequestError(ValueError):
    """A `/bls/sign` request that is not well formed (answered 400)."""


@dataclass(frozen=True)
class SignRequest:
    action: str
    node_id: int
    timestamp: int

    def message(self, chain_id: int, staking: str) -> bytes:
        return action_message(self.action, chain_id, staking, self.node_id, self.timestamp)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "node_id": self.node_id, "timestamp": self.timestamp}


def parse_sign_request(body: Any) -> SignRequest:
    """`{"action": "exit"|"remove"|"liquidate", "node_id": int, "timestamp": int}`."""
    if not isinstance(body, dict):
        raise VoteRequestError("the body must be a JSON object")
    unknown = set(body) - {"action", "node_id", "timestamp"}
    if unknown:
        raise VoteRequestError(f"unknown field {sorted(unknown)[0]!r}")
    action = body.get("action")
    if action not in ACTIONS:
        raise VoteRequestError(f"action must be one of {', '.join(ACTIONS)}")
    node_id, timestamp = body.get("node_id"), body.get("timestamp")
    for name, value, bits in (("node_id", node_id, 64), ("timestamp", timestamp, 256)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
            raise VoteRequestError(f"{name} must be an unsigned {bits}-bit integer")
    if node_id == 0:
        raise VoteRequestError("node_id must be a registered node id (from 1)")
    return SignRequest(action, node_id, timestamp)


def action_message(action: str, chain_id: int, staking: str, node_id: int, timestamp: int) -> bytes:
    """The digest the network signs for `action` (docs/interfaces.md)."""
    build = {EXIT: bls.exit_message, REMOVE: bls.remove_message, LIQUIDATE: bls.liquidate_message}
    return build[action](chain_id, staking, node_id, timestamp)


# ----- what a node signs


@dataclass(frozen=True)
class SignPolicy:
    remove_after: float
    liquidate_after: float
    clock_tolerance: float


@dataclass(frozen=True)
class Observation:
    """What the signing node knows of the node a request is about."""

    status: str | None  # its registry status; None if unknown
    activated_at: int | None  # chain time of its activation
    failing_for: float  # seconds of its current failure streak in this node's tests
    failures: int  # failed tests in a row
    # Why this node's registry keeps the node out of swarms for good (a registration the
    # network refuses to serve: bad Ed25519 signature, Ed25519 key already held), or None.
    excluded: str | None = None


def refusal(
    request: SignRequest,
    observed: Observation,
    own_node_id: int,
    chain_now: int,
    policy: SignPolicy,
) -> str | None:
    """None if this node's view supports signing `request`, else the reason it does not."""
    if request.action not in ACTIONS:
        # A request built without `parse_sign_request` would otherwise fall through to the
        # removal rules and be judged as a liquidation.
        return f"unknown action {request.action!r}"
    drift = request.timestamp - chain_now
    if abs(drift) > policy.clock_tolerance:
        return (
            f"timestamp {request.timestamp} is {abs(drift)} s "
            f"{'ahead of' if drift > 0 else 'behind'} this node's clock (tolerance "
            f"{policy.clock_tolerance:g} s)"
        )
    if observed.status is None:
        return f"node {request.node_id} is unknown"
    if observed.status not in NETWORK_STATUSES:
        return f"node {request.node_id} is {observed.status}, not in the network"
    if request.action == EXIT:
        if observed.status != "exiting":
            return f"node {request.node_id} has not requested its exit"
        if observed.activated_at is None:
            return f"node {request.node_id}'s activation time is unknown"
        if request.timestamp < observed.activated_at + MIN_EXIT_AGE:
            return (
                f"node {request.node_id} is too young to exit: active since "
                f"{observed.activated_at}, the minimum age is {MIN_EXIT_AGE} s"
            )
        if observed.failures:
            # A failing node must not escape its removal (or liquidation) by leaving.
            return (
                f"node {request.node_id} fails this node's tests ({observed.failures} in a "
                f"row): no fast exit for a failing node"
            )
        return None
    if request.node_id == own_node_id:
        return "a node does not sign its own removal"
    if request.action == REMOVE and observed.excluded is not None:
        # A refused registration is removed at once, tests or not (docs/protocol.md,
        # "Refused registrations"): the exclusion is deterministic, every synced bridge
        # sees it. Only `remove`: no penalty for what may be an operator's mistake.
        return None
    needed = policy.remove_after if request.action == REMOVE else policy.liquidate_after
    if observed.failures == 0:
        return f"node {request.node_id} passes this node's tests"
    if observed.failures < MIN_FAILED_TESTS or observed.failing_for < needed:
        return (
            f"node {request.node_id} has failed {observed.failures} test(s) over "
            f"{observed.failing_for:.0f} s; {request.action} needs {MIN_FAILED_TESTS} over "
            f"{needed:g} s"
        )
    return None


# ----- quorum


def max_non_signers(active: int) -> int:
    """The most non-signers a network signature may list (`non_signers * 3 <= active`)."""
    return active // 3


def quorum(active: int) -> int:
    """Signers needed among `active` nodes."""
    return active - max_non_signers(active)


def non_signers(active_ids: Iterable[int], signer_ids: Iterable[int]) -> list[int]:
    """The sorted ids of the active nodes that did not sign (the contract's argument)."""
    signed = set(signer_ids)
    return sorted(n for n in set(active_ids) if n not in signed)


# ----- who tests whom


def test_sample(
    own_ed25519: bytes,
    own_swarm: Sequence[int],
    others: Sequence[int],
    block_hash: bytes,
    random_peers: int,
) -> list[int]:
    """The peers a node tests in a round: the other members of its swarm (`own_swarm`,
    itself excluded by the caller) and `random_peers` of the `others` (the serving nodes
    outside its swarm), drawn by a partial Fisher-Yates shuffle of `others` in ascending
    order with the stream seeded by SHA-256(block hash || own Ed25519 key)."""
    pool = sorted(others)
    take = min(random_peers, len(pool))
    if take:
        rng = SwarmRandom(hashlib.sha256(block_hash + own_ed25519).digest(), PEER_TEST_DOMAIN)
        for i in range(take):
            j = i + rng.uniform(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
    return sorted(set(own_swarm)) + sorted(pool[:take])


# ----- who aggregates


def aggregator_rank(
    own_node_id: int, swarm: Sequence[int], failing_node: int, unhealthy: Iterable[int]
) -> int | None:
    """This node's place in line to aggregate the removal of `failing_node`: its index among
    the members of the failing node's swarm, the failing node and those this node sees
    failing left out, in ascending id. None if it is not in that swarm (or failing)."""
    bad = set(unhealthy) | {failing_node}
    line = sorted(n for n in swarm if n not in bad)
    return line.index(own_node_id) if own_node_id in line else None


def refused_registration_rank(
    own_node_id: int, serving: Iterable[int], unhealthy: Iterable[int]
) -> int | None:
    """This node's place in line to lead the removal of a refused registration (a node in
    the network its registry excludes): its index among the serving nodes in ascending id,
    those this node sees failing left out. None if it does not serve (or is failing)."""
    bad = set(unhealthy)
    line = sorted(n for n in set(serving) if n not in bad)
    return line.index(own_node_id) if own_node_id in line else None


def takes_the_lead(
    rank: int, failing_for: float, at_rank_for: float, remove_after: float, takeover_delay: float
) -> bool:
    """Whether the node `rank`-th in line leads the vote on a failing node now. The first
    (rank 0) leads as soon as it sees the failure (its rounds gather signatures once the
    others have seen it fail for `remove_after`). The one at rank r waits until the vote
    could have succeeded r `takeover_delay`s ago, and until it has held that place for as
    long: when a node ahead of it dies, the new first leads at once while the next ones
    wait again, so two aggregators never gather a quorum at the same time."""
    if rank == 0:
        return True
    wait = rank * takeover_delay
    return failing_for >= remove_after + wait and at_rank_for >= wait


def network_members(statuses: Mapping[int, str]) -> list[int]:
    """The node ids in the contract's aggregate key: every Active or Exiting node."""
    return sorted(n for n, status in statuses.items() if status in NETWORK_STATUSES)
