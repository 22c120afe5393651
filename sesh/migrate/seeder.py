"""Seeding a checked snapshot into the staking contract, resumably.

The plan is the snapshot's nodes in the contract's order (ascending keccak256 of the BLS
key), cut into batches. The chain says how far seeding got: `node_count()` nodes are in,
and they must be the plan's first ones (their keys are compared). A run picks up there,
so a run interrupted anywhere (a crash, a reverted batch, Ctrl-C) and started again
ends in the state an uninterrupted run would have reached. Each batch is all or nothing
on chain, so no node is ever half in.

The chain is reached through `SeedingChain`, so the same engine runs over Ape (the CLI
and `ape run migrate`), web3 or titanoboa (tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sesh.migrate.snapshot import SeedNode, batches, ordered


class MigrationError(Exception):
    """Seeding cannot go on; the message says why and what to do."""


class SeedingChain(Protocol):
    def seeding(self) -> bool: ...

    def node_count(self) -> int: ...

    def bls_pubkey(self, node_id: int) -> bytes: ...

    def requirement(self) -> int: ...

    def seed(self, nodes: Sequence[SeedNode]) -> int:
        """Send one `seed_nodes` batch; return its gas used."""
        ...

    def estimate(self, nodes: Sequence[SeedNode]) -> int: ...

    def start(self) -> None:
        """Set the pool's beneficiary if unset, then `start()`."""
        ...


@dataclass
class Plan:
    """The nodes in the contract's order, how many are already on chain, the batches."""

    nodes: list[SeedNode]
    batch_size: int
    done: int
    requirement: int

    @property
    def remaining(self) -> list[list[SeedNode]]:
        left = self.nodes[self.done :]
        return batches(left, self.batch_size) if left else []

    @property
    def active(self) -> int:
        """Nodes Active after seeding (a full stake)."""
        return sum(1 for n in self.nodes if n.stake == self.requirement)

    def sesh_needed(self) -> int:
        """SESH (units) the batches left will pull from the owner."""
        return sum(n.stake for n in self.nodes[self.done :])


def plan(chain: SeedingChain, nodes: Sequence[SeedNode], batch_size: int) -> Plan:
    """The plan for `nodes` against what the chain already holds."""
    ordered_nodes = ordered(nodes)
    done = chain.node_count()
    if done > len(ordered_nodes):
        raise MigrationError(
            f"the staking contract holds {done} nodes, the snapshot only {len(ordered_nodes)}: "
            "this is not the snapshot it was seeded from"
        )
    for node_id in range(1, done + 1):
        if chain.bls_pubkey(node_id) != ordered_nodes[node_id - 1].bls_pubkey:
            raise MigrationError(
                f"node {node_id} on chain is not the plan's node "
                f"{ordered_nodes[node_id - 1].name}: the contract was seeded from another "
                "snapshot (or another order); refusing to go on"
            )
    if done < len(ordered_nodes) and not chain.seeding():
        raise MigrationError(
            f"the staking contract has started with {done} of the {len(ordered_nodes)} nodes: "
            "nothing more can be seeded (the others may register by themselves)"
        )
    return Plan(ordered_nodes, batch_size, done, chain.requirement())


def run(
    chain: SeedingChain,
    the_plan: Plan,
    *,
    dry_run: bool = False,
    start: bool = True,
    echo: Callable[[str], None] = print,
    on_batch: Callable[[int, int], None] = lambda seeded, total: None,
) -> list[int]:
    """Seed what is left of `the_plan`, then start (unless `start` is false). Returns the
    gas of each batch sent. With `dry_run`, estimates each batch and sends nothing."""
    if not chain.seeding():
        echo("already seeded and started: nothing to do")
        return []
    gas: list[int] = []
    seeded = the_plan.done
    total = len(the_plan.nodes)
    if seeded:
        echo(f"{seeded} of {total} nodes already on chain: resuming after them")
    for batch in the_plan.remaining:
        if dry_run:
            if seeded == the_plan.done:
                estimate = chain.estimate(batch)
                echo(f"first batch of {len(batch)} nodes: about {estimate:,} gas")
            seeded += len(batch)
            continue
        used = chain.seed(batch)
        gas.append(used)
        seeded += len(batch)
        on_batch(seeded, total)
        echo(f"seeded {seeded}/{total} nodes ({len(batch)} in this batch, {used:,} gas)")
    if start and not dry_run:
        chain.start()
        echo(f"started: {total} nodes seeded")
    return gas
