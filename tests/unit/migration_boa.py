"""titanoboa set-up shared by the migration contracts' unit tests (converter, Merkle
claims, vesting): fresh deployments per test, actors named by role."""

import boa

from sesh.rules.units import UNIT
from tests.property.boa_helpers import deployer_for

ZERO = "0x" + "00" * 20
MAX_UINT256 = 2**256 - 1


def actor(name: str) -> str:
    return boa.env.generate_address(name)


def deploy_sesh(genesis: str):
    """A fresh SESH, all 240M minted to `genesis`."""
    with boa.env.prank(genesis):
        return deployer_for("SessionToken.vy").deploy(genesis, ZERO, ZERO)


def deploy_old_token(decimals: int):
    return deployer_for("mocks/MockLegacyToken.vy").deploy(decimals)


def give(token, source: str, to: str, sesh: int) -> int:
    with boa.env.prank(source):
        token.transfer(to, sesh * UNIT)
    return sesh * UNIT


def now() -> int:
    return boa.env.evm.patch.timestamp
