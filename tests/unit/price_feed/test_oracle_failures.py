"""Every way a Chainlink answer can be untrustworthy refuses the payment, with a clear
reason, and moves no token — for SNS registration and for Pro in SESH and in a
stablecoin. An SNS renewal is never refused for the oracle: it pays at the last good
answer instead. Boundaries (an answer exactly a heartbeat old, a sequencer up exactly an
hour) are accepted, and feeds of any decimals give the same price."""

import os

import ape
import pytest

from sesh.rules.names import MIN_COMMITMENT_AGE, YEAR, commitment, cost_units
from sesh.rules.prices import SEQUENCER_GRACE_PERIOD
from tests.unit.names.conftest import YEARLY_PRICES
from tests.unit.products import HEARTBEAT, SESH_PRICE, STABLE_PRICE

MAX_UINT256 = 2**256 - 1
PRO_KEY = b"\x77" * 32


def _answer(value):
    return lambda feed, sequencer, now, sender: feed.set_answer(value, sender=sender)


def _updated(offset):
    def set_round(feed, sequencer, now, sender):
        price = feed.answer()
        feed.set_round(price, now + offset, now + offset, sender=sender)

    return set_round


def _never_updated(feed, sequencer, now, sender):
    feed.set_round(feed.answer(), 0, 0, sender=sender)


def _sequencer(down, offset):
    def set_status(feed, sequencer, now, sender):
        sequencer.set_status(down, 0 if offset is None else now + offset, sender=sender)

    return set_status


FAILURES = {
    "zero answer": (_answer(0), "price_feed: answer not positive"),
    "negative answer": (_answer(-1), "price_feed: answer not positive"),
    "never updated": (_never_updated, "price_feed: answer never updated"),
    "stale": (_updated(-HEARTBEAT - 600), "price_feed: answer is stale"),
    "from the future": (_updated(3600), "price_feed: answer from the future"),
    "sequencer down": (_sequencer(True, -7200), "price_feed: sequencer down"),
    "sequencer just back": (
        _sequencer(False, -SEQUENCER_GRACE_PERIOD // 2),
        "price_feed: sequencer back up less than an hour ago",
    ),
    "sequencer feed not initialised": (
        _sequencer(False, None),
        "price_feed: sequencer feed not initialised",
    ),
    "sequencer status in the future": (
        _sequencer(False, 3600),
        "price_feed: sequencer status in the future",
    ),
}


@pytest.fixture(scope="module")
def payments(sns, pro, register, paying, token, stablecoin, registrant, subscriber, funded, chain):
    """Each payment path: (the feed it reads, a function making the payment)."""
    paying(subscriber)
    register("alice", registrant)
    secret = os.urandom(32)
    sns.commit(
        commitment("bob-1", registrant.address, YEAR, registrant.address, secret), sender=registrant
    )
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    chain.mine()
    return {
        "sns register": (
            "sesh",
            lambda: sns.register("bob-1", registrant, YEAR, secret, MAX_UINT256, sender=registrant),
        ),
        "sns renew": ("sesh", lambda: sns.renew("alice", YEAR, MAX_UINT256, sender=registrant)),
        "pro in sesh": (
            "sesh",
            lambda: pro.subscribe(PRO_KEY, 1, token, MAX_UINT256, sender=subscriber),
        ),
        "pro in stablecoin": (
            "stable",
            lambda: pro.subscribe(PRO_KEY, 1, stablecoin, MAX_UINT256, sender=subscriber),
        ),
    }


@pytest.mark.parametrize("path", ["sns register", "pro in sesh", "pro in stablecoin"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_payment__with_an_untrustworthy_oracle__is_refused_and_moves_nothing(
    payments,
    path,
    failure,
    sesh_feed,
    stable_feed,
    sequencer,
    deployer,
    chain,
    balances,
    registrant,
    subscriber,
    sns,
    pro,
):
    which, pay = payments[path]
    feed = sesh_feed if which == "sesh" else stable_feed
    break_it, reason = FAILURES[failure]
    break_it(feed, sequencer, chain.pending_timestamp, deployer)
    before = balances(registrant, subscriber)
    expiry_before = (sns.expiry("alice"), sns.expiry("bob-1"), pro.pro_expiry(PRO_KEY))
    with ape.reverts(reason):
        pay()
    assert balances(registrant, subscriber) == before
    assert (sns.expiry("alice"), sns.expiry("bob-1"), pro.pro_expiry(PRO_KEY)) == expiry_before


@pytest.mark.parametrize("failure", list(FAILURES))
def test_sns_renew__with_an_untrustworthy_oracle__pays_at_the_last_good_answer(
    payments, failure, sesh_feed, stable_feed, sequencer, deployer, chain, token, pool, sns
):
    _, pay = payments["sns renew"]
    break_it, _reason = FAILURES[failure]
    break_it(sesh_feed, sequencer, chain.pending_timestamp, deployer)
    expiry = sns.expiry("alice")
    before = token.balanceOf(pool)
    pay()
    # The last good answer is SESH_PRICE, the answer alice's registration used.
    assert token.balanceOf(pool) - before == cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    assert sns.expiry("alice") == expiry + YEAR


@pytest.mark.parametrize("failure", ["stale", "sequencer down", "zero answer"])
def test_quotes__with_an_untrustworthy_oracle__are_refused_too(
    sns, pro, token, failure, sesh_feed, sequencer, deployer, chain
):
    break_it, reason = FAILURES[failure]
    break_it(sesh_feed, sequencer, chain.pending_timestamp, deployer)
    with ape.reverts(reason):
        sns.register_price("alice", YEAR)
    with ape.reverts(reason):
        pro.quote(1, token)


def test_answer__exactly_a_heartbeat_old__is_accepted(
    payments, sesh_feed, deployer, chain, pool, token
):
    _, pay = payments["pro in sesh"]
    updated = chain.pending_timestamp
    sesh_feed.set_round(SESH_PRICE, updated, updated, sender=deployer)
    chain.pending_timestamp = updated + HEARTBEAT
    before = token.balanceOf(pool)
    pay()
    assert token.balanceOf(pool) > before


def test_answer__one_second_past_the_heartbeat__is_refused(payments, sesh_feed, deployer, chain):
    _, pay = payments["pro in sesh"]
    updated = chain.pending_timestamp
    sesh_feed.set_round(SESH_PRICE, updated, updated, sender=deployer)
    chain.pending_timestamp = updated + HEARTBEAT + 1
    with ape.reverts("price_feed: answer is stale"):
        pay()


def test_sequencer__up_exactly_an_hour__is_accepted(
    payments, sequencer, deployer, chain, pool, token
):
    _, pay = payments["pro in sesh"]
    since = chain.pending_timestamp
    sequencer.set_status(False, since, sender=deployer)
    chain.pending_timestamp = since + SEQUENCER_GRACE_PERIOD - 1
    with ape.reverts("price_feed: sequencer back up less than an hour ago"):
        pay()
    chain.pending_timestamp = since + SEQUENCER_GRACE_PERIOD
    before = token.balanceOf(pool)
    pay()
    assert token.balanceOf(pool) > before


def test_no_sequencer_feed__skips_the_sequencer_check(
    project, deployer, token, pool, treasury, sesh_feed
):
    pro = deployer.deploy(
        project.SessionPro, token, pool, treasury, sesh_feed, HEARTBEAT, "0x" + "00" * 20
    )
    pro.set_plan(1, 30 * 86_400, 10**8, sender=deployer)
    assert pro.quote(1, token) == -(-(10**8 * 10**9) // SESH_PRICE)


def test_stable_price_moves__change_the_amount_charged(pro, stablecoin, stable_feed, deployer):
    at_par = pro.quote(1, stablecoin)
    stable_feed.set_answer(STABLE_PRICE * 99 // 100, sender=deployer)
    assert pro.quote(1, stablecoin) == -(-(at_par * 100) // 99)
