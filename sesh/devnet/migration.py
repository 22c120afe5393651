"""The devnet's migrated network (`make devnet ARGS="--migrate N"`).

Instead of registering its nodes, the devnet deploys the staking contract in its seeding
phase and plays the move: it builds an old-network snapshot of N nodes — the devnet's own
nodes (the ones a bridge runs here, staked and shared as `plan_nodes` plans them) and
N − K more of the old network that are open (a quarter staked, a reserved slot), so that
they join no swarm and the quorum stays with the bridges this machine runs — checks it as
`sesh migrate` does, seeds it in batches, starts the contract, and hands the network to
the story. After the story, the steps of `MIGRATION_STEPS` run (the token conversion, a
Merkle claim and a vested allocation running a node and claiming).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sesh.devnet.network import DevnetNode
from sesh.migrate import seeder
from sesh.migrate.generate import old_network
from sesh.migrate.snapshot import check_snapshot
from sesh.rules.units import to_units


@dataclass
class MigrationContext:
    """What a migration step of the story gets: the console, the suite, the test
    accounts (0 is the deployer/owner), the manifest, the snapshot and the devnet nodes."""

    console: Any
    suite: Any
    accounts: list[Any]
    manifest: Any
    snapshot: dict[str, Any]
    nodes: list[DevnetNode]


def token_migration(context: MigrationContext) -> None:
    """The converter, the Merkle claims and a vested allocation running a node
    (`sesh.devnet.migration_story`), with the devnet's clock moves refreshing its feeds."""
    from sesh.cli.dev import move_chain_time
    from sesh.devnet.migration_story import devnet_step

    context.console.print("[bold]The move, continued[/]: tokens, claims and a vested node")
    devnet_step(
        context,
        advance=lambda seconds: move_chain_time(context.manifest, seconds, context.accounts[0]),
    )


# Steps run after the story on a migrated devnet, in order, each `step(context)`; they
# raise to fail the devnet.
MIGRATION_STEPS: list[Callable[[MigrationContext], None]] = [token_migration]


def devnet_snapshot(
    nodes: list[DevnetNode],
    total: int,
    accounts: list[Any],
    chain_id: int,
    staking: str,
    requirement: int,
) -> dict[str, Any]:
    """The old network: the devnet's `nodes` (as their plan stakes them) and `total` −
    len(nodes) open nodes of operators elsewhere."""
    eth: dict[str, str] = {}

    def old(index: int) -> str:
        name = f"devnet-account-{index}"
        eth[name] = str(accounts[index].address)
        return name

    states = []
    for node in nodes:
        operator = str(accounts[node.operator].address)
        contributors = [
            {"address": old(node.operator), "amount": to_units(node.stake), "reserved": 0}
        ]
        reserved = {index: to_units(amount) for index, amount in node.reserved}
        for index, amount in node.contributions:
            contributors.append(
                {
                    "address": old(index),
                    "amount": to_units(amount),
                    "reserved": reserved.get(index, 0),
                }
            )
        states.append(
            {
                "service_node_pubkey": node.keys.node_id_hex,
                "pubkey_ed25519": node.keys.node_id_hex,
                "pubkey_bls": node.keys.bls_pubkey.to_compressed().hex(),
                "pop_bls": node.keys.proof_of_possession(chain_id, staking, operator).hex(),
                "ed25519_signature": node.keys.registration_signature().hex(),
                "operator_address": old(node.operator),
                "operator_fee": node.fee_bps,
                "public_ip": "127.0.0.1",
                "storage_port": node.port,
                "staking_requirement": requirement,
                "contributors": contributors,
            }
        )
    rest = max(0, total - len(nodes))
    if rest:
        others = old_network(
            rest, chain_id, staking, requirement, seed="devnet-old-network", open_only=True
        ).snapshot
        states += others["service_node_states"]
        eth.update(others["eth_addresses"])
    return {"eth_addresses": eth, "service_node_states": states}


def seed_devnet(
    console: Any,
    suite: Any,
    accounts: list[Any],
    nodes: list[DevnetNode],
    total: int,
    advance: Callable[[int, int], None],
) -> dict[str, Any]:
    """Seed the snapshot of `nodes` and `total` − len(nodes) others, start, and set each
    devnet node's id; returns the snapshot. Ape must be connected to the devnet."""
    from ape import chain

    from sesh.migrate.ape_chain import ApeSeedingChain

    manifest = suite.manifest
    owner = accounts[0]
    seeding_chain = ApeSeedingChain(manifest, owner, echo=console.print)
    requirement = seeding_chain.requirement()
    staking = str(seeding_chain.staking.address)
    snapshot = devnet_snapshot(nodes, total, accounts, chain.chain_id, staking, requirement)
    report = check_snapshot(snapshot, chain.chain_id, staking, requirement)
    if not report.ok:
        raise seeder.MigrationError(
            "the devnet's snapshot is refused: " + "; ".join(report.lines())
        )
    plan = seeder.plan(seeding_chain, report.nodes, 50)
    console.print(
        f"  snapshot: {len(plan.nodes)} nodes ({plan.active} active, "
        f"{len(plan.nodes) - plan.active} open), {len(plan.remaining)} batch(es)"
    )
    seeder.run(seeding_chain, plan, echo=lambda _line: None, on_batch=advance)
    by_key = {n.keys.bls_pubkey.to_eip2537(): n for n in nodes}
    for node_id in range(1, seeding_chain.node_count() + 1):
        node = by_key.get(seeding_chain.bls_pubkey(node_id))
        if node is not None:
            node.node_id = node_id
    if any(n.node_id == 0 for n in nodes):
        raise seeder.MigrationError("a devnet node is missing on chain after seeding")
    return snapshot


def run_migration_steps(context: MigrationContext) -> None:
    for step in MIGRATION_STEPS:
        step(context)
