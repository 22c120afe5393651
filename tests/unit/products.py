"""Fixtures shared by the oracle-priced products (names, Pro, the price-feed module).

Imported by the conftest of each product's test folder. Roles: `pool` stands for the
reward pool (issue 4 deploys the real one; here its balance is what we check),
`treasury` receives stablecoin payments, `registrant` and `subscriber` pay, `buyer`
acquires a name, `payment_provider` grants Pro for off-chain purchases.
"""

import pytest

from sesh.rules.prices import SEQUENCER_GRACE_PERIOD, USD
from sesh.rules.units import UNIT

# SESH at 0.20 USD, the stablecoin at 1.00 USD, both with Chainlink's 8 decimals.
SESH_PRICE = 20 * USD // 100
STABLE_PRICE = USD
FEED_DECIMALS = 8
HEARTBEAT = 86_400


@pytest.fixture(scope="session")
def registrant(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def pool(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def treasury(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def subscriber(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def payment_provider(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def sesh_feed(project, deployer):
    return deployer.deploy(project.MockAggregator, FEED_DECIMALS, SESH_PRICE, "SESH / USD")


@pytest.fixture(scope="session")
def sequencer(project, deployer, chain):
    return deployer.deploy(
        project.MockSequencerUptimeFeed, chain.pending_timestamp - 2 * SEQUENCER_GRACE_PERIOD
    )


@pytest.fixture(scope="session")
def stablecoin(project, deployer):
    return deployer.deploy(project.MockStablecoin)


@pytest.fixture(scope="session")
def stable_feed(project, deployer):
    return deployer.deploy(project.MockAggregator, FEED_DECIMALS, STABLE_PRICE, "USDC / USD")


@pytest.fixture(autouse=True)
def fresh_feeds(sesh_feed, stable_feed, sequencer, deployer, chain):
    """Every test starts with fresh answers and a sequencer up for two hours, whatever
    time earlier tests travelled to."""
    sesh_feed.set_answer(SESH_PRICE, sender=deployer)
    stable_feed.set_answer(STABLE_PRICE, sender=deployer)
    sequencer.set_status(
        False, chain.pending_timestamp - 2 * SEQUENCER_GRACE_PERIOD, sender=deployer
    )


@pytest.fixture(scope="session")
def balances(token, pool, treasury, stablecoin):
    """balances(*accounts) -> tuple of (SESH, stablecoin) balances, to show nothing moved."""

    def _balances(*accounts):
        return tuple(
            (token.balanceOf(a), stablecoin.balanceOf(a)) for a in (pool, treasury, *accounts)
        )

    return _balances


@pytest.fixture(scope="session")
def funded(token, deployer):
    """funded(account, sesh=1_000_000): the account holds SESH (topped up from genesis)."""

    def _funded(account, sesh: int = 1_000_000):
        token.transfer(account, sesh * UNIT, sender=deployer)
        return account

    return _funded


def travel(chain, seconds: int, *feeds_and_sender):
    """Move the chain's clock; the feeds passed are refreshed (answers keep their value)."""
    chain.pending_timestamp += seconds
    chain.mine()
    if feeds_and_sender:
        *feeds, sender = feeds_and_sender
        for feed in feeds:
            feed.set_answer(feed.answer(), sender=sender)
