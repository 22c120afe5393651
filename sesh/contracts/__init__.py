"""The typed SDK over the deployed contracts, used by scripts, the CLI, the bridge and tests.

Amounts go in as `Decimal` SESH and are converted to token units (10**9 per SESH) on the
way to the chain; every refusal, the contracts' or the SDK's own checks, is a
`ContractError` whose message is the contract's reason.

    suite = Suite.load()                        # deployments/<chain_id>.json
    tx = suite.staking.contribute(3, Decimal("5000"), delegator)
    tx.send()
"""

from sesh.contracts.base import ContractError, Tx
from sesh.contracts.names import Names
from sesh.contracts.pool import RewardPool
from sesh.contracts.pro import Pro
from sesh.contracts.staking import NodeInfo, NodeStatus, Staking
from sesh.contracts.suite import Suite
from sesh.contracts.token import Token

__all__ = [
    "ContractError",
    "Names",
    "NodeInfo",
    "NodeStatus",
    "Pro",
    "RewardPool",
    "Staking",
    "Suite",
    "Token",
    "Tx",
]
