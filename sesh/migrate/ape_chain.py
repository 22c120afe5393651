"""`SeedingChain` over Ape: the staking extension's seeding functions called at the staking
contract's address by an Ape account (the CLI, `ape run migrate`, the devnet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sesh.deploy.manifest import Manifest
from sesh.migrate.snapshot import SeedNode

ZERO_ADDRESS = "0x" + "00" * 20
# Measured: bench/results/seeding.json (2,000 nodes in batches of 60).
GAS_PER_NODE = 340_198


class ApeSeedingChain:
    def __init__(
        self,
        manifest: Manifest,
        account: Any,
        echo: Callable[[str], None] = print,
    ):
        from sesh.contracts import abis

        self.manifest = manifest
        self.account = account
        self.echo = echo
        staking = manifest.address("ServiceNodeStaking")
        # Typed with its extension's functions too (`seed_nodes`, `start`): its fallback
        # delegates them to `ServiceNodeStakingExtension`.
        self.staking = abis.instance("ServiceNodeStaking", staking)
        self.pool = abis.instance("RewardRatePool", manifest.address("RewardRatePool"))
        self.token = abis.instance(
            "SessionToken",
            manifest.address(
                "SessionToken" if "SessionToken" in manifest.contracts else "SessionTokenL2"
            ),
        )

    def seeding(self) -> bool:
        return bool(self.staking.seeding())

    def node_count(self) -> int:
        return int(self.staking.node_count())

    def bls_pubkey(self, node_id: int) -> bytes:
        return bytes(self.staking.node(node_id).bls_pubkey)

    def requirement(self) -> int:
        return int(self.staking.staking_requirement())

    def _args(self, nodes: Sequence[SeedNode]) -> list:
        return [n.args() for n in nodes]

    def estimate(self, nodes: Sequence[SeedNode]) -> int:
        """The batch simulated; when the owner has not approved the staking contract yet
        (a run approves before its first batch), the bench's figure a node instead."""
        needed = sum(n.stake for n in nodes)
        if int(self.token.allowance(self.account.address, self.staking.address)) < needed:
            self.echo(
                "  (not simulated: the owner has not approved the staking contract yet; "
                f"estimated at {GAS_PER_NODE:,} gas a node, bench/results/seeding.json)"
            )
            return GAS_PER_NODE * len(nodes)
        return int(
            self.staking.seed_nodes.estimate_gas_cost(self._args(nodes), sender=self.account)
        )

    def seed(self, nodes: Sequence[SeedNode]) -> int:
        self.ensure_allowance(sum(n.stake for n in nodes))
        receipt = self.staking.seed_nodes(self._args(nodes), sender=self.account)
        self.manifest.record_migration(seeded=self.node_count(), last_tx=str(receipt.txn_hash))
        return int(receipt.gas_used)

    def ensure_allowance(self, amount: int) -> None:
        staking = self.staking.address
        if int(self.token.allowance(self.account.address, staking)) < amount:
            self.token.approve(staking, 2**256 - 1, sender=self.account)

    def start(self) -> None:
        if str(self.pool.beneficiary()) == ZERO_ADDRESS:
            self.pool.set_beneficiary(self.staking.address, sender=self.account)
            self.echo("pool.set_beneficiary(staking): done")
        self.staking.start(sender=self.account)
        self.manifest.record_migration(started=True, seeded=self.node_count())
