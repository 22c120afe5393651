"""Owner-only, bounded setters with their events; deployment checks; pausing."""

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from sesh.rules.prices import USD

from .conftest import PREMIUM_START, YEARLY_PRICES

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
CHANGE_DELAY = 30 * 86_400


def test_deployment__records_the_wiring(sns, token, pool, sesh_feed, sequencer, deployer):
    assert sns.SESH() == token.address
    assert sns.REWARD_POOL() == pool.address
    assert sns.sesh_usd_feed() == sesh_feed.address
    assert sns.sesh_usd_heartbeat() == 86_400
    assert sns.SEQUENCER_UPTIME_FEED() == sequencer.address
    assert [sns.yearly_prices(i) for i in range(4)] == YEARLY_PRICES
    assert sns.premium_start() == PREMIUM_START
    assert sns.owner() == deployer
    assert not sns.paused()


@pytest.mark.parametrize("which", ["sesh", "pool"])
def test_deployment__with_a_zero_address__is_refused(
    project, deployer, token, pool, sesh_feed, which
):
    args = {"sesh": token.address, "pool": pool.address}
    args[which] = ZERO_ADDRESS
    reason = (
        "sns: SESH is the zero address"
        if which == "sesh"
        else "sns: reward pool is the zero address"
    )
    with ape.reverts(reason):
        deployer.deploy(
            project.SessionNameService,
            args["sesh"],
            args["pool"],
            sesh_feed,
            86_400,
            ZERO_ADDRESS,
            YEARLY_PRICES,
            0,
        )


def test_set_yearly_prices__lower__applies_at_once_and_logs(sns, deployer):
    prices = [600 * USD, 100 * USD, 10 * USD, 1 * USD]
    receipt = sns.set_yearly_prices(prices, sender=deployer)
    assert [sns.yearly_prices(i) for i in range(4)] == prices
    assert receipt.events == [sns.YearlyPricesUpdated(prices)]


def test_set_yearly_prices__a_rise__is_announced_and_made_30_days_later(sns, deployer, chain):
    prices = [1280 * USD, 160 * USD, 20 * USD, 5 * USD]
    receipt = sns.set_yearly_prices(prices, sender=deployer)
    due = receipt.timestamp + CHANGE_DELAY
    change = keccak(encode(["string", "uint256[4]"], ["prices", prices]))
    assert receipt.events == [sns.ChangeAnnounced(change, due)]
    assert sns.change_due(change) == due
    assert [sns.yearly_prices(i) for i in range(4)] == YEARLY_PRICES
    chain.pending_timestamp = due - 1
    with ape.reverts("sns: change not yet due"):
        sns.set_yearly_prices(prices, sender=deployer)
    chain.pending_timestamp = due
    receipt = sns.set_yearly_prices(prices, sender=deployer)
    assert receipt.events == [sns.YearlyPricesUpdated(prices)]
    assert [sns.yearly_prices(i) for i in range(4)] == prices
    assert sns.change_due(change) == 0


def test_set_yearly_prices__more_than_doubling_a_tier__is_refused(sns, deployer):
    with ape.reverts("sns: price rise above double"):
        sns.set_yearly_prices([640 * USD, 160 * USD, 40 * USD + 1, 5 * USD], sender=deployer)
    assert [sns.yearly_prices(i) for i in range(4)] == YEARLY_PRICES


@pytest.mark.parametrize(
    "prices,reason",
    [
        ([1000 * USD, 100 * USD, 10 * USD, USD // 100 - 1], "sns: yearly price below 0.01 USD"),
        ([10**14 + 1, 100 * USD, 10 * USD, USD], "sns: yearly price above 1,000,000 USD"),
        ([10 * USD, 100 * USD, 10 * USD, USD], "sns: a longer name priced above a shorter one"),
    ],
)
def test_set_yearly_prices__out_of_bounds__is_refused(sns, deployer, prices, reason):
    with ape.reverts(reason):
        sns.set_yearly_prices(prices, sender=deployer)
    assert [sns.yearly_prices(i) for i in range(4)] == YEARLY_PRICES


def test_set_premium__updates_within_bounds(sns, deployer):
    receipt = sns.set_premium(10**16, sender=deployer)
    assert sns.premium_start() == 10**16
    assert receipt.events == [sns.PremiumUpdated(10**16)]
    with ape.reverts("sns: premium above 100,000,000 USD"):
        sns.set_premium(10**16 + 1, sender=deployer)


def test_set_price_feed__is_announced_and_made_30_days_later(sns, deployer, project, chain):
    feed = deployer.deploy(project.MockAggregator, 18, 2 * 10**17, "SESH / USD")
    old = sns.sesh_usd_feed()
    receipt = sns.set_price_feed(feed, 3600, sender=deployer)
    change = keccak(encode(["string", "address", "uint256"], ["feed", feed.address, 3600]))
    due = receipt.timestamp + CHANGE_DELAY
    assert receipt.events == [sns.ChangeAnnounced(change, due)]
    assert sns.sesh_usd_feed() == old
    chain.pending_timestamp = due - 600
    feed.set_answer(2 * 10**17, sender=deployer)
    with ape.reverts("sns: change not yet due"):
        sns.set_price_feed(feed, 3600, sender=deployer)
    chain.pending_timestamp = due
    receipt = sns.set_price_feed(feed, 3600, sender=deployer)
    assert sns.sesh_usd_feed() == feed.address and sns.sesh_usd_heartbeat() == 3600
    assert receipt.events == [sns.PriceFeedUpdated(feed, 3600)]


def test_set_price_feed__whose_answer_cannot_be_used__is_refused(sns, deployer, project, chain):
    feed = deployer.deploy(project.MockAggregator, 8, 0, "SESH / USD")
    with ape.reverts("price_feed: answer not positive"):
        sns.set_price_feed(feed, 3600, sender=deployer)
    feed.set_answer(25 * 10**6, sender=deployer)
    sns.set_price_feed(feed, 3600, sender=deployer)
    chain.pending_timestamp += CHANGE_DELAY
    # Stale when it would be made: refused again, the old feed stays.
    with ape.reverts("price_feed: answer is stale"):
        sns.set_price_feed(feed, 3600, sender=deployer)


@pytest.mark.parametrize(
    "heartbeat,reason",
    [
        (59, "price_feed: heartbeat below 60 s"),
        (3 * 86_400 + 1, "price_feed: heartbeat above 3 days"),
    ],
)
def test_set_price_feed__heartbeat_out_of_bounds__is_refused(
    sns, deployer, sesh_feed, heartbeat, reason
):
    with ape.reverts(reason):
        sns.set_price_feed(sesh_feed, heartbeat, sender=deployer)


def test_set_price_feed__not_a_contract__is_refused(sns, deployer, attacker):
    with ape.reverts("price_feed: feed is not a contract"):
        sns.set_price_feed(attacker, 3600, sender=deployer)


def test_set_price_feed__with_too_many_decimals__is_refused(sns, deployer, project):
    feed = deployer.deploy(project.MockAggregator, 19, 1, "odd")
    with ape.reverts("price_feed: feed has more than 18 decimals"):
        sns.set_price_feed(feed, 3600, sender=deployer)


@pytest.mark.parametrize(
    "call",
    [
        lambda sns, feed: sns.set_yearly_prices(YEARLY_PRICES, sender=feed),
        lambda sns, feed: sns.set_premium(0, sender=feed),
        lambda sns, feed: sns.set_price_feed(feed, 3600, sender=feed),
        lambda sns, feed: sns.pause(sender=feed),
        lambda sns, feed: sns.unpause(sender=feed),
    ],
    ids=["prices", "premium", "feed", "pause", "unpause"],
)
def test_owner_only__called_by_a_stranger__is_refused(sns, attacker, sesh_feed, call):
    with ape.reverts("ownable: caller is not the owner"):
        call(sns, attacker)


def test_pause__twice__is_refused(sns, deployer):
    sns.pause(sender=deployer)
    with ape.reverts("pausable: contract is paused"):
        sns.pause(sender=deployer)
    sns.unpause(sender=deployer)
    with ape.reverts("pausable: contract is not paused"):
        sns.unpause(sender=deployer)


def test_renounce_ownership__is_not_offered(sns):
    names = [abi.name for abi in sns.contract_type.abi if abi.type == "function"]
    assert "renounce_ownership" not in names and "transfer_ownership" in names


def test_ownership__moves_in_two_steps(sns, deployer, spender, attacker):
    sns.transfer_ownership(spender, sender=deployer)
    assert sns.owner() == deployer and sns.pending_owner() == spender
    with ape.reverts("ownable_2step: caller is not the new owner"):
        sns.accept_ownership(sender=attacker)
    sns.accept_ownership(sender=spender)
    assert sns.owner() == spender
    sns.set_premium(0, sender=spender)
