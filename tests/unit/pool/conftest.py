import pytest

from sesh.rules.economics import POOL_LAUNCH_BALANCE


@pytest.fixture(scope="session")
def token(deploy_token):
    """The pool suite's own SESH, so its funding never shows in other suites' balances."""
    return deploy_token()


@pytest.fixture(scope="session")
def beneficiary(accounts):
    """Stands in for the staking contract: the pool only checks the caller's address."""
    return accounts[5]


@pytest.fixture(scope="session")
def pool(project, token, deployer):
    pool = deployer.deploy(project.RewardRatePool, token)
    token.transfer(pool, POOL_LAUNCH_BALANCE, sender=deployer)
    return pool


@pytest.fixture(scope="session")
def wired_pool(pool, beneficiary, deployer):
    pool.set_beneficiary(beneficiary, sender=deployer)
    return pool
