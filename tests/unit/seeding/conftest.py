"""Fixtures of the seeding tests: the staking contract deployed to seed, on titanoboa
(with the native BLS precompiles), and made-up old-network snapshots."""

from __future__ import annotations

import json
import subprocess
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import boa
import pytest

from sesh.contracts import abis
from sesh.migrate.generate import old_network
from sesh.migrate.snapshot import check_snapshot, ordered
from sesh.rules.economics import POOL_LAUNCH_BALANCE
from sesh.rules.units import UNIT
from sesh.testing.boa_bls import native_bls_precompiles
from tests.property.boa_helpers import deploy_staking, deployer_for

REQUIREMENT = 25_000 * UNIT
ROOT = Path(__file__).resolve().parents[3]
ZERO = "0x" + "00" * 20


@pytest.fixture(autouse=True, scope="session")
def native_bls():
    with native_bls_precompiles():
        yield


@dataclass
class Seeding:
    token: object
    pool: object
    verifier: object
    extension: object
    staking: object
    owner: str

    @property
    def chain_id(self) -> int:
        return boa.env.evm.patch.chain_id

    def snapshot(self, count: int, seed: str = "old-network"):
        return old_network(count, self.chain_id, self.staking.address, REQUIREMENT, seed=seed)

    def nodes(self, count: int, seed: str = "old-network"):
        report = check_snapshot(
            self.snapshot(count, seed).snapshot, self.chain_id, self.staking.address, REQUIREMENT
        )
        assert report.ok, report.lines()
        return ordered(report.nodes)

    def seed(self, nodes, sender: str | None = None):
        with boa.env.prank(sender or self.owner):
            return self.at_staking.seed_nodes([n.args() for n in nodes])

    @property
    def at_staking(self):
        """The staking contract with the SDK's ABI (its own, plus the extension's
        state-changing functions and events: `sesh.contracts.abis.address_abi`), without
        source: what a wallet sees (and boa does not try to decode the extension's frames
        on a revert)."""
        return address_abi_contract().at(self.staking.address)

    @property
    def staking_extension(self):
        """The extension at the staking contract's address (calls go through its fallback,
        events decode with the extension's ABI)."""
        with warnings.catch_warnings():
            # boa notes that the code there is not the extension's: it is the staking's.
            warnings.simplefilter("ignore")
            return deployer_for("ServiceNodeStakingExtension.vy").at(self.staking.address)

    def start(self, sender: str | None = None):
        """Set the pool's beneficiary (if unset) and start, as `sesh migrate` does."""
        if self.pool.beneficiary() != self.staking.address:
            with boa.env.prank(self.owner):
                self.pool.set_beneficiary(self.staking.address)
        with boa.env.prank(sender or self.owner):
            self.at_staking.start()


@cache
def address_abi_contract():
    """The staking contract's ABI as the SDK types its address (`abis.address_abi`)."""
    abi = subprocess.run(
        ["vyper", "-f", "abi", "contracts/ServiceNodeStaking.vy"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    merged = abis.address_abi("ServiceNodeStaking", json.loads(abi))
    return boa.loads_abi(json.dumps(merged), name="ServiceNodeStakingAtAddress")


@pytest.fixture
def seeding() -> Seeding:
    return make_seeding()


def make_seeding() -> Seeding:
    """A fresh suite whose staking contract is in its seeding phase; the owner holds the
    SESH and has approved the staking contract."""
    owner = boa.env.generate_address("owner")
    with boa.env.prank(owner):
        token = deployer_for("SessionToken.vy").deploy(owner, ZERO, ZERO)
        pool = deployer_for("RewardRatePool.vy").deploy(token.address)
        verifier = deployer_for("BLSVerifier.vy").deploy()
        extension, staking = deploy_staking(token, pool, verifier, seeding=True)
        token.transfer(pool.address, POOL_LAUNCH_BALANCE)
        token.approve(staking.address, 2**256 - 1)
    return Seeding(token, pool, verifier, extension, staking, owner)
