"""Subscriptions: paid in SESH (to the pool) or a stablecoin (to the treasury)."""

import ape
import pytest

from sesh.contracts.permit import sign_permit
from sesh.rules.pro import plan_amount
from tests.unit.products import SESH_PRICE, STABLE_PRICE, travel

from .conftest import MAX_UINT256, MONTH, MONTHLY, PLANS, PRO_KEY, YEARLY

YEAR = 365 * 86_400


def test_subscribe__with_sesh__pays_the_pool_and_activates_the_key(
    pro, token, paying, subscriber, pool, chain
):
    paying(subscriber)
    amount = plan_amount(PLANS[MONTHLY][1], SESH_PRICE, 8, 9)
    assert pro.quote(MONTHLY, token) == amount
    before = token.balanceOf(subscriber)
    receipt = pro.subscribe(PRO_KEY, MONTHLY, token, amount, sender=subscriber)
    expiry = receipt.timestamp + MONTH
    assert receipt.return_value == expiry
    assert pro.pro_expiry(PRO_KEY) == expiry
    assert pro.is_pro(PRO_KEY)
    assert token.balanceOf(pool) == amount
    assert token.balanceOf(subscriber) == before - amount
    assert receipt.events.filter(pro.ProSubscribed) == [
        pro.ProSubscribed(PRO_KEY, subscriber, MONTHLY, token, amount, expiry)
    ]


def test_subscribe__with_the_stablecoin__pays_the_treasury(
    pro, token, stablecoin, paying, subscriber, pool, treasury
):
    paying(subscriber)
    amount = plan_amount(PLANS[YEARLY][1], STABLE_PRICE, 8, 6)
    assert amount == 49_990_000
    pro.subscribe(PRO_KEY, YEARLY, stablecoin, amount, sender=subscriber)
    assert stablecoin.balanceOf(treasury) == amount
    assert token.balanceOf(pool) == 0


def test_subscribe__again__extends_from_the_current_expiry(pro, token, paying, subscriber):
    paying(subscriber)
    first = pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber).return_value
    second = pro.subscribe(PRO_KEY, YEARLY, token, MAX_UINT256, sender=subscriber).return_value
    assert second == first + PLANS[YEARLY][0]


def test_subscribe__after_lapsing__starts_from_now(
    pro, token, paying, subscriber, chain, sesh_feed, deployer
):
    paying(subscriber)
    pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)
    travel(chain, 2 * MONTH, sesh_feed, deployer)
    assert not pro.is_pro(PRO_KEY)
    receipt = pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp + MONTH


def test_subscribe__as_a_gift__anyone_pays_for_any_key(pro, token, paying, buyer):
    paying(buyer)
    pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=buyer)
    assert pro.is_pro(PRO_KEY)


def test_subscribe__with_permit__needs_no_approval(pro, token, subscriber, funded, chain, pool):
    funded(subscriber)
    amount = pro.quote(MONTHLY, token)
    sig = sign_permit(subscriber, token, pro.address, amount, chain.pending_timestamp + 600)
    pro.subscribe_with_permit(PRO_KEY, MONTHLY, token, amount, *sig.as_args(), sender=subscriber)
    assert token.balanceOf(pool) == amount and pro.is_pro(PRO_KEY)


def test_subscribe__with_a_stablecoin_permit__pays_the_treasury(
    pro, stablecoin, subscriber, deployer, chain, treasury
):
    stablecoin.mint(subscriber, 100 * 10**6, sender=deployer)
    amount = pro.quote(MONTHLY, stablecoin)
    sig = sign_permit(subscriber, stablecoin, pro.address, amount, chain.pending_timestamp + 600)
    pro.subscribe_with_permit(
        PRO_KEY, MONTHLY, stablecoin, amount, *sig.as_args(), sender=subscriber
    )
    assert stablecoin.balanceOf(treasury) == amount


def test_subscribe__with_a_bad_permit__is_refused_and_moves_nothing(
    pro, token, subscriber, funded, chain, attacker, balances
):
    funded(subscriber)
    forged = sign_permit(attacker, token, pro.address, 10**18, chain.pending_timestamp + 600)
    before = balances(subscriber)
    with ape.reverts("payments: permit failed and no allowance"):
        pro.subscribe_with_permit(
            PRO_KEY, MONTHLY, token, 10**18, *forged.as_args(), sender=subscriber
        )
    assert balances(subscriber) == before and not pro.is_pro(PRO_KEY)


def test_subscribe__with_an_unknown_token__is_refused_and_moves_nothing(
    pro, project, deployer, paying, subscriber, balances
):
    paying(subscriber)
    other = deployer.deploy(project.MockStablecoin)
    other.mint(subscriber, 10**12, sender=deployer)
    other.approve(pro, MAX_UINT256, sender=subscriber)
    before = balances(subscriber)
    with ape.reverts("pro: token not accepted"):
        pro.subscribe(PRO_KEY, MONTHLY, other, MAX_UINT256, sender=subscriber)
    with ape.reverts("pro: token not accepted"):
        pro.subscribe_with_permit(
            PRO_KEY, MONTHLY, other, 1, 0, 27, b"\x00" * 32, b"\x00" * 32, sender=subscriber
        )
    assert balances(subscriber) == before
    assert other.balanceOf(subscriber) == 10**12
    assert not pro.is_pro(PRO_KEY)


def test_subscribe__to_an_unknown_plan__is_refused(pro, token, paying, subscriber):
    paying(subscriber)
    with ape.reverts("pro: unknown plan"):
        pro.subscribe(PRO_KEY, 99, token, MAX_UINT256, sender=subscriber)


def test_subscribe__above_max_amount__is_refused_and_moves_nothing(
    pro, token, paying, subscriber, balances
):
    paying(subscriber)
    amount = pro.quote(MONTHLY, token)
    before = balances(subscriber)
    with ape.reverts("pro: amount above max_amount"):
        pro.subscribe(PRO_KEY, MONTHLY, token, amount - 1, sender=subscriber)
    assert balances(subscriber) == before


def test_subscribe__for_the_zero_key__is_refused(pro, token, paying, subscriber):
    paying(subscriber)
    with ape.reverts("pro: Pro public key is zero"):
        pro.subscribe(b"\x00" * 32, MONTHLY, token, MAX_UINT256, sender=subscriber)


def test_subscribe__while_paused__is_refused(pro, token, paying, subscriber, deployer):
    paying(subscriber)
    pro.pause(sender=deployer)
    with ape.reverts("pro: paused"):
        pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)
    pro.unpause(sender=deployer)
    pro.subscribe(PRO_KEY, MONTHLY, token, MAX_UINT256, sender=subscriber)


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_quote__scales_by_the_feed_decimals(pro, project, deployer, token, decimals):
    feed = deployer.deploy(project.MockAggregator, decimals, 2 * 10 ** (decimals - 1), "SESH / USD")
    pro.set_pay_token(token, feed, 3600, sender=deployer)
    assert pro.quote(MONTHLY, token) == plan_amount(PLANS[MONTHLY][1], SESH_PRICE, 8, 9)


def test_a_set_plan_landing_just_before_a_subscribe_cannot_change_what_it_buys(
    pro, token, paying, subscriber, deployer
):
    # Issue #16, 4: the owner cannot turn the yearly plan into one day just before a
    # payment for it lands: a plan id keeps its terms, new terms take a new id.
    paying(subscriber)
    duration, usd_price = pro.plans(YEARLY)
    with ape.reverts("pro: plan id already used"):
        pro.set_plan(YEARLY, 86_400, usd_price, sender=deployer)
    receipt = pro.subscribe(PRO_KEY, YEARLY, token, MAX_UINT256, sender=subscriber)
    assert pro.pro_expiry(PRO_KEY) == receipt.timestamp + duration == receipt.timestamp + YEAR
