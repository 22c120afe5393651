"""The products end to end on anvil: a user registers `alice`, points it at a Session
ID, resolves it, sells it (the buyer sees none of the seller's records) and the buyer
renews it; a user buys Session Pro for a key with SESH and sees it active. Every SESH
paid ends in the reward pool."""

import os

from sesh.contracts.permit import sign_permit
from sesh.rules.names import MIN_COMMITMENT_AGE, YEAR, commitment, token_id
from sesh.rules.prices import SEQUENCER_GRACE_PERIOD, USD
from sesh.rules.units import UNIT

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SESSION_ID = bytes.fromhex("05" + "3f" * 32)
PRO_KEY = bytes.fromhex("9a" * 32)


def test_story__register_resolve_sell_renew_and_buy_pro(project, accounts, chain):
    deployer, user, buyer, pool, treasury, marketplace = (accounts[i] for i in range(6))
    token = deployer.deploy(project.SessionToken, deployer, ZERO_ADDRESS, ZERO_ADDRESS)
    feed = deployer.deploy(project.MockAggregator, 8, 25 * USD // 100, "SESH / USD")
    sequencer = deployer.deploy(
        project.MockSequencerUptimeFeed, chain.pending_timestamp - 2 * SEQUENCER_GRACE_PERIOD
    )
    sns = deployer.deploy(
        project.SessionNameService,
        token,
        pool,
        feed,
        86_400,
        sequencer,
        [640 * USD, 160 * USD, 20 * USD, 5 * USD],
        100_000 * USD,
    )
    pro = deployer.deploy(project.SessionPro, token, pool, treasury, feed, 86_400, sequencer)
    pro.set_plan(1, 30 * 86_400, 499 * USD // 100, sender=deployer)
    token.transfer(user, 10_000 * UNIT, sender=deployer)
    token.transfer(buyer, 10_000 * UNIT, sender=deployer)

    # The user commits, waits a minute, and registers with a permit: no approval needed.
    secret = os.urandom(32)
    sns.commit(commitment("alice", user.address, YEAR, user.address, secret), sender=user)
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    chain.mine()
    cost = sns.register_price("alice", YEAR)
    assert cost == 80 * UNIT  # 20 USD a year at 0.25 USD per SESH
    permit = sign_permit(user, token, sns.address, cost, chain.pending_timestamp + 600)
    sns.register_with_permit("alice", user, YEAR, secret, cost, *permit.as_args(), sender=user)
    assert sns.ownerOf(token_id("alice")) == user

    # It points at the user's Session ID, and resolves.
    sns.set_session_id("alice", SESSION_ID, sender=user)
    assert sns.resolve("alice") == SESSION_ID

    # Sold through a marketplace (an approved operator): the buyer pays the seller and
    # receives the name with no record of the seller's left.
    sns.setApprovalForAll(marketplace, True, sender=user)
    token.transfer(user, 500 * UNIT, sender=buyer)
    sns.safeTransferFrom(user, buyer, token_id("alice"), sender=marketplace)
    assert sns.ownerOf(token_id("alice")) == buyer
    assert sns.resolve("alice") == b""
    assert sns.records("alice") == (b"", b"\x00" * 32, ZERO_ADDRESS)

    # The buyer renews it for another year.
    expiry = sns.expiry("alice")
    renew_cost = sns.renew_price("alice", YEAR)
    token.approve(sns, renew_cost, sender=buyer)
    sns.renew("alice", YEAR, renew_cost, sender=buyer)
    assert sns.expiry("alice") == expiry + YEAR

    # A user buys Pro for a key with SESH, and the key is Pro.
    amount = pro.quote(1, token)
    permit = sign_permit(user, token, pro.address, amount, chain.pending_timestamp + 600)
    pro.subscribe_with_permit(PRO_KEY, 1, token, amount, *permit.as_args(), sender=user)
    assert pro.is_pro(PRO_KEY)

    # Every SESH paid for names and Pro is in the reward pool.
    assert token.balanceOf(pool) == cost + renew_cost + amount
    assert token.balanceOf(sns) == 0 and token.balanceOf(pro) == 0
