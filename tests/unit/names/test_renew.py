"""Renewal: anyone pays, from the current expiry, until the grace period ends."""

import ape
import pytest

from sesh.contracts.permit import sign_permit
from sesh.rules.names import GRACE_PERIOD, MIN_DURATION, YEAR, cost_units, token_id
from tests.unit.products import SESH_PRICE, travel

from .conftest import MAX_UINT256, YEARLY_PRICES


def test_renew__by_anyone__extends_from_the_expiry_and_pays_the_pool(
    sns, token, register, registrant, buyer, funded, pool
):
    receipt = register("alice", registrant)
    expiry = receipt.timestamp + YEAR
    funded(buyer)
    token.approve(sns, MAX_UINT256, sender=buyer)
    pool_before = token.balanceOf(pool)
    cost = cost_units("alice", 2 * YEAR, YEARLY_PRICES, SESH_PRICE)
    receipt = sns.renew("alice", 2 * YEAR, cost, sender=buyer)
    assert receipt.return_value == expiry + 2 * YEAR
    assert sns.expiry("alice") == expiry + 2 * YEAR
    assert token.balanceOf(pool) - pool_before == cost
    assert sns.ownerOf(token_id("alice")) == registrant
    tid = token_id("alice")
    assert receipt.events.filter(sns.NameRenewed) == [
        sns.NameRenewed(tid, "alice", buyer, expiry + 2 * YEAR, cost)
    ]
    assert receipt.events.filter(sns.MetadataUpdate) == [sns.MetadataUpdate(tid)]


def test_renew__during_grace__keeps_the_name_and_its_records(
    sns, register, registrant, chain, sesh_feed, deployer
):
    receipt = register("alice", registrant)
    sns.set_session_id("alice", b"\x05" + b"\x22" * 32, sender=registrant)
    travel(chain, YEAR + GRACE_PERIOD - 3600, sesh_feed, deployer)
    assert sns.resolve("alice") == b""
    sns.renew("alice", YEAR, MAX_UINT256, sender=registrant)
    assert sns.expiry("alice") == receipt.timestamp + 2 * YEAR
    assert sns.resolve("alice") == b"\x05" + b"\x22" * 32


def test_renew__after_grace__is_refused_and_moves_nothing(
    sns, register, registrant, chain, sesh_feed, deployer, balances
):
    register("alice", registrant)
    travel(chain, YEAR + GRACE_PERIOD, sesh_feed, deployer)
    before = balances(registrant)
    with ape.reverts("sns: name past its grace period"):
        sns.renew("alice", YEAR, MAX_UINT256, sender=registrant)
    assert balances(registrant) == before


def test_renew__a_name_never_registered__is_refused(sns, registrant):
    with ape.reverts("sns: name not registered"):
        sns.renew("nobody", YEAR, MAX_UINT256, sender=registrant)


def test_renew__shorter_than_28_days__is_refused(sns, register, registrant):
    register("alice", registrant)
    with ape.reverts("sns: duration shorter than 28 days"):
        sns.renew("alice", MIN_DURATION - 1, MAX_UINT256, sender=registrant)


def test_renew__above_max_cost__is_refused_and_moves_nothing(sns, register, registrant, balances):
    register("alice", registrant)
    cost = cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    before = balances(registrant)
    with ape.reverts("sns: cost above max_cost"):
        sns.renew("alice", YEAR, cost - 1, sender=registrant)
    assert balances(registrant) == before


def test_renew__with_permit__needs_no_approval(
    sns, token, register, registrant, buyer, funded, chain, pool
):
    register("alice", registrant)
    funded(buyer)
    cost = sns.renew_price("alice", YEAR)
    assert cost == cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    sig = sign_permit(buyer, token, sns.address, cost, chain.pending_timestamp + 600)
    before = token.balanceOf(pool)
    sns.renew_with_permit("alice", YEAR, cost, *sig.as_args(), sender=buyer)
    assert token.balanceOf(pool) - before == cost


def test_renew__with_an_expired_permit__is_refused(
    sns, token, register, registrant, buyer, funded, chain
):
    register("alice", registrant)
    funded(buyer)
    sig = sign_permit(buyer, token, sns.address, 10**18, chain.pending_timestamp - 1)
    with ape.reverts("payments: permit failed and no allowance"):
        sns.renew_with_permit("alice", YEAR, 10**18, *sig.as_args(), sender=buyer)


CHANGE_DELAY = 30 * 86_400


def test_renew__while_the_feed_is_stale__pays_at_the_last_good_price(
    sns, token, register, registrant, funded, chain, sesh_feed, deployer, pool
):
    register("alice", registrant)
    # The feed stops updating for a year; registrations are refused, renewals go on.
    travel(chain, YEAR)
    with ape.reverts("price_feed: answer is stale"):
        sns.register_price("bob", YEAR)
    cost = cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    assert sns.renew_price("alice", YEAR) == cost
    before = token.balanceOf(pool)
    sns.renew("alice", YEAR, cost, sender=registrant)
    assert token.balanceOf(pool) - before == cost


def test_renew__when_the_feed_answers_again__pays_the_new_price(
    sns, register, registrant, chain, sesh_feed, deployer
):
    register("alice", registrant)
    travel(chain, YEAR)
    sesh_feed.set_answer(SESH_PRICE * 2, sender=deployer)
    doubled = cost_units("alice", YEAR, YEARLY_PRICES, 2 * SESH_PRICE)
    assert sns.renew_price("alice", YEAR) == doubled


def test_renew__with_no_good_price_ever__is_refused_with_the_feeds_reason(
    project, deployer, token, pool, sesh_feed, sequencer, chain
):
    # A deployment needs a usable answer, so a fresh contract always has one.
    sesh_feed.set_answer(0, sender=deployer)
    with ape.reverts("price_feed: answer not positive"):
        deployer.deploy(
            project.SessionNameService,
            token,
            pool,
            sesh_feed,
            86_400,
            sequencer,
            YEARLY_PRICES,
            0,
        )


def test_the_owner_cannot_stop_renewals_and_take_the_name(
    sns, token, register, registrant, attacker, funded, chain, sesh_feed, deployer, project
):
    # Issue #16, 2. The owner's three ways to make every renewal fail until a name
    # lapses, and take it: a feed only it can read, prices at the upper bound for the
    # grace period, and a feed left to die after renouncing ownership.
    register("alice", registrant)
    funded(deployer)
    token.approve(sns, MAX_UINT256, sender=deployer)
    cost = cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    # Prices: nothing takes effect at once, and a rise at most doubles a tier.
    with ape.reverts("sns: price rise above double"):
        sns.set_yearly_prices([10**14] * 4, sender=deployer)
    sns.set_yearly_prices([2 * p for p in YEARLY_PRICES], sender=deployer)
    assert sns.renew_price("alice", YEAR) == cost
    # A new feed is announced, not set: the holder has 30 days to renew on the old one.
    private_feed = deployer.deploy(project.MockAggregator, 8, 1, "SESH / USD")
    sns.set_price_feed(private_feed, 3600, sender=deployer)
    assert sns.sesh_usd_feed() == sesh_feed.address
    # Once set, a feed nobody else can use only sends renewals to the last good price.
    travel(chain, CHANGE_DELAY, sesh_feed, deployer)
    private_feed.set_answer(1, sender=deployer)
    sns.set_price_feed(private_feed, 3600, sender=deployer)
    private_feed.set_answer(0, sender=deployer)
    travel(chain, YEAR + GRACE_PERIOD - CHANGE_DELAY - 86_400)
    assert sns.renew_price("alice", YEAR) == cost
    sns.renew("alice", YEAR, cost, sender=registrant)
    # And ownership cannot be renounced to leave a dead feed in place for good.
    with pytest.raises(AttributeError):
        sns.renounce_ownership(sender=deployer)
    assert sns.ownerOf(token_id("alice")) == registrant
