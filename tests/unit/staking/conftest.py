"""Fixtures for the staking unit tests: the whole economics wired on anvil."""

from dataclasses import dataclass

import pytest

from sesh.contracts import abis
from sesh.crypto import bls
from sesh.crypto.node_keys import NodeKeys
from sesh.rules.economics import POOL_LAUNCH_BALANCE
from sesh.rules.units import UNIT

REQUIREMENT = 25_000 * UNIT
MAX_UINT256 = 2**256 - 1
TAGS = {"exit": bls.exit_message, "remove": bls.remove_message, "liquidate": bls.liquidate_message}


@pytest.fixture(scope="session")
def operator(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def delegator(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def second_delegator(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def keeper(accounts):
    """Anyone who submits network signatures, finalizes exits or distributes."""
    return accounts[7]


@pytest.fixture(scope="session")
def token(deploy_token):
    """The staking suite's own SESH, so its funding never shows in other suites' balances."""
    return deploy_token()


@pytest.fixture(scope="session")
def verifier(project, deployer):
    return deployer.deploy(project.BLSVerifier)


@pytest.fixture(scope="session")
def pool(project, token, deployer):
    pool = deployer.deploy(project.RewardRatePool, token)
    token.transfer(pool, POOL_LAUNCH_BALANCE, sender=deployer)
    return pool


@pytest.fixture(scope="session")
def staking(project, token, pool, verifier, deployer, accounts):
    """The staking contract, typed with its extension's functions (the owner's setters,
    `sweep`) as a wallet with the SDK's ABI sees it."""
    extension = deployer.deploy(project.ServiceNodeStakingExtension, token, pool, verifier)
    deployed = deployer.deploy(project.ServiceNodeStaking, token, pool, verifier, extension, False)
    staking = abis.instance("ServiceNodeStaking", deployed.address)
    pool.set_beneficiary(staking, sender=deployer)
    for account in accounts[1:10]:
        token.transfer(account, 1_000_000 * UNIT, sender=deployer)
        token.approve(staking, MAX_UINT256, sender=account)
    return staking


@dataclass
class RegisteredNode:
    node_id: int
    keys: NodeKeys
    operator: object
    receipt: object


@pytest.fixture(scope="session")
def node_keys():
    """Deterministic node keys by index, generated once per session."""
    cache: dict[int, NodeKeys] = {}

    def _keys(index: int) -> NodeKeys:
        if index not in cache:
            seed = index.to_bytes(4, "big") * 8
            cache[index] = NodeKeys.from_seeds(seed, (index + 1).to_bytes(32, "big"))
        return cache[index]

    return _keys


@pytest.fixture(scope="session")
def register(staking, chain, node_keys):
    """register(operator, stake=REQUIREMENT, fee_bps=1_000, reserved=(), keys=None)."""
    counter = iter(range(1, 10_000))

    def _register(operator, stake=REQUIREMENT, fee_bps=1_000, reserved=(), keys=None, **kw):
        keys = keys or node_keys(next(counter) + 100 * int(staking.node_count()))
        args = keys.registration_args(chain.chain_id, staking.address, operator.address)
        receipt = staking.register_node(
            *args, "203.0.113.7:22021", fee_bps, stake, list(reserved), sender=operator, **kw
        )
        return RegisteredNode(int(receipt.return_value), keys, operator, receipt)

    return _register


@pytest.fixture(scope="session")
def network_sign(staking, chain):
    """network_sign(action, node_id, timestamp, signer_keys) -> aggregate signature bytes."""

    def _sign(action, node_id, timestamp, signer_keys, chain_id=None, staking_address=None):
        message = TAGS[action](
            chain_id or chain.chain_id, staking_address or staking.address, node_id, timestamp
        )
        signatures = [bls.sign(k.bls, message) for k in signer_keys]
        return bls.aggregate_signatures(signatures).to_eip2537()

    return _sign


def kept_for(staking, node_id, accounts):
    """What a node's accrual still holds in the contract after its contributors' claims:
    rewards not claimed yet plus the rounding dust the floors leave (a unit or so each)."""
    accrued = staking.node(node_id).accrued_rewards
    return accrued - sum(staking.contribution(node_id, a).claimed_rewards for a in accounts)


def not_yet_credited(staking):
    """Released rewards the contract holds for no node yet: the rest of the current
    stream and what was streamed while no node was active (or rounded off)."""
    return staking.undistributed() + staking.unstreamed()
