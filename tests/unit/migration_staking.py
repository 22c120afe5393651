"""The staking economics under titanoboa, for the vesting tests and property suite."""

from dataclasses import dataclass

import boa

from sesh.crypto.node_keys import NodeKeys
from sesh.rules.economics import POOL_LAUNCH_BALANCE
from sesh.rules.units import UNIT
from tests.property.boa_helpers import deploy_staking, deployer_for
from tests.unit.migration_boa import MAX_UINT256, ZERO

REQUIREMENT = 25_000 * UNIT
ENDPOINT = "203.0.113.9:22021"
KEYS = [NodeKeys.from_seeds(bytes([i + 40]) * 32, (i + 91).to_bytes(32, "big")) for i in range(16)]


@dataclass
class Suite:
    token: object
    pool: object
    staking: object
    factory: object
    genesis: str

    def fund(self, account: str, amount: int, approve_staking: bool = True):
        with boa.env.prank(self.genesis):
            self.token.transfer(account, amount)
        if approve_staking:
            with boa.env.prank(account):
                self.token.approve(self.staking.address, MAX_UINT256)

    def create_vesting(
        self, beneficiary, revoker, start, cliff, end, amount, transferable=False, funder=None
    ):
        funder = funder or self.genesis
        with boa.env.prank(funder):
            self.token.approve(self.factory.address, amount)
            address = self.factory.create_vesting(
                beneficiary, revoker or ZERO, start, cliff, end, transferable, amount
            )
        return deployer_for("VestingStaking.vy").at(address)

    def registration(self, keys: NodeKeys, operator: str) -> tuple:
        return keys.registration_args(boa.env.evm.patch.chain_id, self.staking.address, operator)


def deploy_suite(genesis: str, pool_balance: int = POOL_LAUNCH_BALANCE) -> Suite:
    with boa.env.prank(genesis):
        token = deployer_for("SessionToken.vy").deploy(genesis, ZERO, ZERO)
        pool = deployer_for("RewardRatePool.vy").deploy(token.address)
        verifier = deployer_for("BLSVerifier.vy").deploy()
        _extension, staking = deploy_staking(token, pool, verifier)  # live, not seeding
        token.transfer(pool.address, pool_balance)
        pool.set_beneficiary(staking.address)
        blueprint = deployer_for("VestingStaking.vy").deploy_as_blueprint()
        factory = deployer_for("VestingFactory.vy").deploy(
            token.address, staking.address, ZERO, blueprint.address
        )
    return Suite(token, pool, staking, factory, genesis)
