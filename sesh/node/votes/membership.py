"""Whom a vote's signature is checked against: the staking contract verifies a network
signature with timestamp `t` against the nodes in the network (Active or Exiting when it
is included) whose activation time is strictly before `t` — the members at `t`. Nodes that
joined at or after `t` are neither signers nor counted for the one-third allowance of
non-signers, and listing one as a non-signer is refused. So a round of a vote asks, counts
and lists only the members at its timestamp (docs/protocol.md, "Aggregation").

A node's activation time is the timestamp of the block of its `NodeActivated` event (the
contract stores `block.timestamp`), and the registry records that block (seeded nodes
included: seeding logs `NodeActivated` too). Block timestamps never decrease with the block
number, so among the distinct activation blocks sorted, those before `t` are a prefix: its
end is found with one look at the newest block (the usual case: nobody joined since `t`)
and otherwise a binary search — at most 1 + ⌈log2 b⌉ block headers for b distinct blocks,
each fetched once (`eth_getBlockByNumber`) and remembered. A node whose activation block
is unknown (a listing without it) is looked up in the contract (`node(id).activated_at`),
once per node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sesh.node.chain.rpc import parse_quantity
from sesh.node.votes.chain_tx import Refused, StakingChain

# Blocks whose timestamps are remembered; past this the memory starts afresh.
BLOCK_TIMES_KEPT = 1 << 14
# Contract lookups of unknown activations sent at once.
NODE_LOOKUPS_AT_ONCE = 32


@dataclass(frozen=True)
class Voter:
    """A node of the network: whom to ask, the key its signature must verify with, and the
    block of its activation (None if unknown: then the contract is asked when)."""

    node_id: int
    bls_pubkey: bytes  # EIP-2537, as registered
    endpoint: str  # host:port
    activated_block: int | None = None

    @property
    def url(self) -> str:
        host, _, port = self.endpoint.rpartition(":")
        host = host.strip("[]")
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class Membership:
    """The network split at a signature's timestamp."""

    members: list[Voter]  # activated strictly before it: asked, counted, listed
    joined_later: list[Voter]  # activated at or after it: none of those


class ActivationTimes:
    """When the nodes of the network were activated, as far as a timestamp needs to know."""

    def __init__(self, chain: StakingChain):
        self.chain = chain
        self._block_time: dict[int, int] = {}
        self._node_time: dict[int, int] = {}
        # What was asked of the chain (for tests and logs): block headers, node() calls.
        self.blocks_fetched = 0
        self.nodes_fetched = 0

    def forget(self) -> None:
        """Drop what is remembered (after the contract refused a signature: a reorganised
        chain may have moved an activation)."""
        self._block_time.clear()
        self._node_time.clear()

    async def block_time(self, number: int) -> int:
        known = self._block_time.get(number)
        if known is not None:
            return known
        timestamp = await self.chain.pool.call(
            "eth_getBlockByNumber", [hex(number), False], _block_timestamp
        )
        self.blocks_fetched += 1
        if len(self._block_time) >= BLOCK_TIMES_KEPT:
            self._block_time.clear()
        self._block_time[number] = timestamp
        return timestamp

    async def node_time(self, node_id: int) -> int:
        """The contract's `activated_at` of a node (0 while it has none, or if the contract
        does not know the node)."""
        known = self._node_time.get(node_id)
        if known is not None:
            return known
        try:
            activated_at = (await self.chain.node(node_id)).activated_at
        except Refused:  # "unknown node": not in the contract's network either
            activated_at = 0
        self.nodes_fetched += 1
        if activated_at:
            self._node_time[node_id] = activated_at
        return activated_at

    async def members(self, voters: Sequence[Voter], timestamp: int) -> Membership:
        """`voters` (the network) split into the members at `timestamp` and the rest, each
        in the order given."""
        blocks = sorted({v.activated_block for v in voters if v.activated_block is not None})
        first_later = await self._first_at_or_after(blocks, timestamp)
        boundary = blocks[first_later] if first_later < len(blocks) else None
        unknown = sorted({v.node_id for v in voters if v.activated_block is None})
        unknown_times: dict[int, int] = {}
        for start in range(0, len(unknown), NODE_LOOKUPS_AT_ONCE):
            batch = unknown[start : start + NODE_LOOKUPS_AT_ONCE]
            times = await asyncio.gather(*(self.node_time(n) for n in batch))
            unknown_times.update(zip(batch, times, strict=True))
        members: list[Voter] = []
        later: list[Voter] = []
        for voter in voters:
            if voter.activated_block is None:
                # 0: not activated on chain (yet): not in the contract's network either.
                activated_at = unknown_times[voter.node_id]
                before = 0 < activated_at < timestamp
            else:
                before = boundary is None or voter.activated_block < boundary
            (members if before else later).append(voter)
        return Membership(members, later)

    async def _first_at_or_after(self, blocks: list[int], timestamp: int) -> int:
        """The index of the first of the ascending `blocks` whose time is at or after
        `timestamp` (`len(blocks)` if none is)."""
        if not blocks or await self.block_time(blocks[-1]) < timestamp:
            return len(blocks)
        low, high = 0, len(blocks) - 1  # blocks[high] is at or after
        while low < high:
            middle = (low + high) // 2
            if await self.block_time(blocks[middle]) < timestamp:
                low = middle + 1
            else:
                high = middle
        return low


def _block_timestamp(block: Any) -> int:
    if block is None:
        raise ValueError("block not known to this provider")
    if not isinstance(block, dict):
        raise TypeError("block is not an object")
    return parse_quantity(block["timestamp"])
