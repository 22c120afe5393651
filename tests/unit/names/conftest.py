"""SNS fixtures: the names contract wired to SESH, the SESH/USD feed and the sequencer feed."""

import os

import pytest

from sesh.rules.names import MIN_COMMITMENT_AGE, commitment
from sesh.rules.prices import USD
from tests.unit.products import *  # noqa: F403

# Yearly prices of 3, 4, 5 and 6+ character names (USD, 8 decimals).
YEARLY_PRICES = [640 * USD, 160 * USD, 20 * USD, 5 * USD]
PREMIUM_START = 1_000_000 * USD
MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="session")
def sns(project, deployer, token, pool, sesh_feed, sequencer):
    return deployer.deploy(
        project.SessionNameService,
        token,
        pool,
        sesh_feed,
        86_400,
        sequencer,
        YEARLY_PRICES,
        PREMIUM_START,
    )


@pytest.fixture(scope="session")
def register(sns, token, chain, funded):
    """register(name, owner, payer=owner, duration=365 days) -> receipt: commit, wait
    the minimum age, register at the quoted price (the payer approves SESH first)."""

    def _register(name, owner, payer=None, duration=365 * 86_400, secret=None):
        payer = payer or owner
        funded(payer)
        token.approve(sns, MAX_UINT256, sender=payer)
        secret = secret or os.urandom(32)
        sns.commit(commitment(name, owner.address, duration, payer.address, secret), sender=payer)
        chain.pending_timestamp += MIN_COMMITMENT_AGE
        cost = sns.register_price(name, duration)
        return sns.register(name, owner, duration, secret, cost, sender=payer)

    return _register
