"""Fixtures for the Ape unit tests (on the local anvil chain that `ape test` starts)."""

import pytest

from sesh.rules.units import UNIT

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def holder(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def spender(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def receiver(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def deploy_token(project, deployer):
    """deploy_token(genesis=deployer): a fresh SESH, all 240M minted to `genesis`."""

    def _deploy(genesis=None):
        return deployer.deploy(
            project.SessionToken, genesis or deployer, ZERO_ADDRESS, ZERO_ADDRESS
        )

    return _deploy


@pytest.fixture(scope="session")
def token(project, deployer):
    """SESH as deployed natively on Arbitrum: no L1 gateway."""
    return deployer.deploy(project.SessionToken, deployer, ZERO_ADDRESS, ZERO_ADDRESS)


@pytest.fixture(scope="session")
def fund(token, deployer):
    """fund(account, sesh) sends whole SESH from the genesis holder."""

    def _fund(account, sesh: int):
        token.transfer(account, sesh * UNIT, sender=deployer)
        return sesh * UNIT

    return _fund
