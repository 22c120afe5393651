"""Owner-only, bounded setters of Pro with their events; deployment checks."""

import ape
import pytest

from sesh.rules.prices import USD
from tests.unit.products import HEARTBEAT

from .conftest import MONTH, MONTHLY, PLANS

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_deployment__accepts_sesh_and_records_the_wiring(
    pro, token, pool, treasury, sesh_feed, sequencer
):
    assert pro.SESH() == token.address and pro.REWARD_POOL() == pool.address
    assert pro.treasury() == treasury.address
    assert pro.pay_tokens(token) == (sesh_feed.address, HEARTBEAT, 9)
    assert pro.SEQUENCER_UPTIME_FEED() == sequencer.address
    assert pro.plans(MONTHLY) == PLANS[MONTHLY]


@pytest.mark.parametrize(
    "index,reason",
    [
        (0, "pro: SESH is the zero address"),
        (1, "pro: reward pool is the zero address"),
        (2, "pro: treasury is the zero address"),
    ],
)
def test_deployment__with_a_zero_address__is_refused(
    project, deployer, token, pool, treasury, sesh_feed, index, reason
):
    args = [token.address, pool.address, treasury.address]
    args[index] = ZERO_ADDRESS
    with ape.reverts(reason):
        deployer.deploy(project.SessionPro, *args, sesh_feed, HEARTBEAT, ZERO_ADDRESS)


def test_set_plan__creates_and_removes(pro, deployer):
    receipt = pro.set_plan(7, MONTH, 100 * USD, sender=deployer)
    assert pro.plans(7) == (MONTH, 100 * USD)
    assert receipt.events == [pro.PlanUpdated(7, MONTH, 100 * USD)]
    receipt = pro.set_plan(7, 0, 0, sender=deployer)
    assert pro.plans(7) == (0, 0)
    assert receipt.events == [pro.PlanUpdated(7, 0, 0)]


def test_set_plan__changing_a_used_id__is_refused(pro, deployer):
    pro.set_plan(7, MONTH, 100 * USD, sender=deployer)
    with ape.reverts("pro: plan id already used"):
        pro.set_plan(7, 86_400, 100 * USD, sender=deployer)
    with ape.reverts("pro: plan id already used"):
        pro.set_plan(7, MONTH, 200 * USD, sender=deployer)
    assert pro.plans(7) == (MONTH, 100 * USD)


def test_set_plan__reusing_a_removed_id__is_refused(pro, deployer):
    pro.set_plan(7, MONTH, 100 * USD, sender=deployer)
    pro.set_plan(7, 0, 0, sender=deployer)
    with ape.reverts("pro: plan id already used"):
        pro.set_plan(7, MONTH, 100 * USD, sender=deployer)
    assert pro.plans(7) == (0, 0)


def test_set_plan__removing_an_unknown_plan__is_refused(pro, deployer):
    with ape.reverts("pro: unknown plan"):
        pro.set_plan(8, 0, 0, sender=deployer)


@pytest.mark.parametrize(
    "duration,price,reason",
    [
        (86_399, USD, "pro: duration shorter than 1 day"),
        (3 * 365 * 86_400 + 1, USD, "pro: duration longer than 3 years"),
        (MONTH, USD // 100 - 1, "pro: price below 0.01 USD"),
        (MONTH, 10_000 * USD + 1, "pro: price above 10,000 USD"),
        (0, USD, "pro: duration shorter than 1 day"),
    ],
)
def test_set_plan__out_of_bounds__is_refused(pro, deployer, duration, price, reason):
    with ape.reverts(reason):
        pro.set_plan(7, duration, price, sender=deployer)
    assert pro.plans(7) == (0, 0)


def test_set_pay_token__reads_the_decimals_and_logs(pro, deployer, project, stable_feed):
    coin = deployer.deploy(project.MockStablecoin)
    receipt = pro.set_pay_token(coin, stable_feed, 3600, sender=deployer)
    assert pro.pay_tokens(coin) == (stable_feed.address, 3600, 6)
    assert receipt.events == [pro.PayTokenUpdated(coin, stable_feed, 3600)]


def test_set_pay_token__not_a_token__is_refused(pro, deployer, stable_feed, attacker):
    with ape.reverts("pro: token is not a contract"):
        pro.set_pay_token(attacker, stable_feed, 3600, sender=deployer)


def test_set_pay_token__with_a_bad_heartbeat__is_refused(pro, deployer, stablecoin, stable_feed):
    with ape.reverts("price_feed: heartbeat below 60 s"):
        pro.set_pay_token(stablecoin, stable_feed, 59, sender=deployer)


def test_remove_pay_token__stops_accepting_it(pro, deployer, stablecoin):
    receipt = pro.remove_pay_token(stablecoin, sender=deployer)
    assert pro.pay_tokens(stablecoin) == (ZERO_ADDRESS, 0, 0)
    assert receipt.events == [pro.PayTokenUpdated(stablecoin, ZERO_ADDRESS, 0)]
    with ape.reverts("pro: token not accepted"):
        pro.quote(MONTHLY, stablecoin)
    with ape.reverts("pro: token not accepted"):
        pro.remove_pay_token(stablecoin, sender=deployer)


def test_set_treasury__updates_and_refuses_zero(pro, deployer, buyer):
    receipt = pro.set_treasury(buyer, sender=deployer)
    assert pro.treasury() == buyer.address
    assert receipt.events == [pro.TreasuryUpdated(buyer)]
    with ape.reverts("pro: treasury is the zero address"):
        pro.set_treasury(ZERO_ADDRESS, sender=deployer)


def test_set_payment_provider__gives_and_takes_the_role(pro, deployer, payment_provider):
    receipt = pro.set_payment_provider(payment_provider, True, sender=deployer)
    assert pro.is_payment_provider(payment_provider)
    assert receipt.events == [pro.PaymentProviderUpdated(payment_provider, True)]
    pro.set_payment_provider(payment_provider, False, sender=deployer)
    assert not pro.is_payment_provider(payment_provider)
    with ape.reverts("pro: payment provider is the zero address"):
        pro.set_payment_provider(ZERO_ADDRESS, True, sender=deployer)


@pytest.mark.parametrize(
    "call",
    [
        lambda pro, who, coin: pro.set_plan(9, MONTH, USD, sender=who),
        lambda pro, who, coin: pro.set_pay_token(coin, coin, 3600, sender=who),
        lambda pro, who, coin: pro.remove_pay_token(coin, sender=who),
        lambda pro, who, coin: pro.set_treasury(who, sender=who),
        lambda pro, who, coin: pro.set_payment_provider(who, True, sender=who),
        lambda pro, who, coin: pro.pause(sender=who),
        lambda pro, who, coin: pro.unpause(sender=who),
    ],
    ids=["plan", "token", "remove", "treasury", "provider", "pause", "unpause"],
)
def test_owner_only__called_by_a_stranger__is_refused(pro, attacker, stablecoin, call):
    with ape.reverts("ownable: caller is not the owner"):
        call(pro, attacker, stablecoin)


def test_ownership__moves_in_two_steps(pro, deployer, spender):
    pro.transfer_ownership(spender, sender=deployer)
    pro.accept_ownership(sender=spender)
    assert pro.owner() == spender


def test_renounce_ownership__is_not_offered(pro):
    # Issue #16, 2: without an owner nothing could be fixed again.
    names = [abi.name for abi in pro.contract_type.abi if abi.type == "function"]
    assert "renounce_ownership" not in names and "transfer_ownership" in names
