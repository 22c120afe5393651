"""Pro fixtures: the Pro contract with a monthly and a yearly plan, SESH and a stablecoin."""

import pytest

from sesh.rules.prices import USD
from tests.unit.products import *  # noqa: F403
from tests.unit.products import HEARTBEAT

MONTHLY, YEARLY = 1, 2
MONTH = 30 * 86_400
PLANS = {MONTHLY: (MONTH, 499 * USD // 100), YEARLY: (365 * 86_400, 4999 * USD // 100)}
PRO_KEY = bytes.fromhex("a1" * 32)
MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="session")
def pro(project, deployer, token, pool, treasury, sesh_feed, sequencer, stablecoin, stable_feed):
    contract = deployer.deploy(
        project.SessionPro, token, pool, treasury, sesh_feed, HEARTBEAT, sequencer
    )
    for plan_id, (duration, usd_price) in PLANS.items():
        contract.set_plan(plan_id, duration, usd_price, sender=deployer)
    contract.set_pay_token(stablecoin, stable_feed, HEARTBEAT, sender=deployer)
    return contract


@pytest.fixture(scope="session")
def paying(pro, token, stablecoin, funded, deployer):
    """paying(account): funded with SESH and stablecoins, both approved to Pro."""

    def _paying(account):
        funded(account)
        stablecoin.mint(account, 10_000 * 10**6, sender=deployer)
        token.approve(pro, MAX_UINT256, sender=account)
        stablecoin.approve(pro, MAX_UINT256, sender=account)
        return account

    return _paying


@pytest.fixture(scope="session")
def provider(pro, payment_provider, deployer):
    pro.set_payment_provider(payment_provider, True, sender=deployer)
    return payment_provider
