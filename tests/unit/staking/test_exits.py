"""request_exit / finalize_exit: leaving the network by request."""

import ape
import pytest

from sesh.rules.economics import DAY

from .conftest import REQUIREMENT, kept_for, not_yet_credited

QUARTER = REQUIREMENT // 4


@pytest.fixture
def shared_node(staking, register, operator, delegator, second_delegator):
    """operator 1/4, delegator 1/2, second_delegator 1/4 - 1 unit ... plus 1 more from operator."""
    node = register(operator, stake=QUARTER)
    staking.contribute(node.node_id, 2 * QUARTER, sender=delegator)
    staking.contribute(node.node_id, REQUIREMENT - 3 * QUARTER - 1, sender=second_delegator)
    staking.contribute(node.node_id, 1, sender=operator)
    assert staking.node(node.node_id).status == staking.STATUS_ACTIVE()
    return node


def test_request_exit__by_the_operator__starts_the_delay(staking, chain, shared_node, operator):
    chain.pending_timestamp += 10
    receipt = staking.request_exit(shared_node.node_id, sender=operator)
    info = staking.node(shared_node.node_id)
    assert info.status == staking.STATUS_EXITING()
    assert info.unlock_time == info.exit_requested_at + staking.exit_delay()
    assert receipt.events == [
        staking.ExitRequested(shared_node.node_id, operator, info.unlock_time)
    ]
    # Still in the network: the key stays in the aggregate.
    assert staking.active_nodes() == 1


def test_request_exit__by_a_quarter_contributor__is_allowed(staking, shared_node, delegator):
    staking.request_exit(shared_node.node_id, sender=delegator)
    assert staking.node(shared_node.node_id).status == staking.STATUS_EXITING()


def test_request_exit__by_a_small_contributor__waits_30_days(
    staking, chain, shared_node, second_delegator
):
    with ape.reverts("staking: stake < 25%: wait 30d"):
        staking.request_exit(shared_node.node_id, sender=second_delegator)
    activated = staking.node(shared_node.node_id).activated_at
    chain.pending_timestamp = activated + 30 * DAY
    staking.request_exit(shared_node.node_id, sender=second_delegator)
    assert staking.node(shared_node.node_id).status == staking.STATUS_EXITING()


def test_request_exit__by_a_stranger__is_refused(staking, shared_node, attacker):
    with ape.reverts("staking: not a contributor"):
        staking.request_exit(shared_node.node_id, sender=attacker)


def test_request_exit__twice__is_refused(staking, shared_node, operator):
    staking.request_exit(shared_node.node_id, sender=operator)
    with ape.reverts("staking: node not active"):
        staking.request_exit(shared_node.node_id, sender=operator)


def test_request_exit__of_an_open_node__is_refused(staking, register, operator):
    node = register(operator, stake=QUARTER)
    with ape.reverts("staking: node not active"):
        staking.request_exit(node.node_id, sender=operator)


def test_finalize_exit__before_the_delay__is_refused(staking, chain, shared_node, operator, keeper):
    staking.request_exit(shared_node.node_id, sender=operator)
    chain.pending_timestamp = staking.node(shared_node.node_id).unlock_time - 1
    with ape.reverts("staking: exit delay not over"):
        staking.finalize_exit(shared_node.node_id, sender=keeper)


def test_finalize_exit__without_a_request__is_refused(staking, shared_node, keeper):
    with ape.reverts("staking: no exit requested"):
        staking.finalize_exit(shared_node.node_id, sender=keeper)


def test_finalize_exit__after_the_delay__unlocks_every_stake(
    staking, token, chain, shared_node, operator, delegator, second_delegator, keeper
):
    staking.request_exit(shared_node.node_id, sender=operator)
    chain.pending_timestamp = staking.node(shared_node.node_id).unlock_time
    receipt = staking.finalize_exit(shared_node.node_id, sender=keeper)
    assert staking.NodeExited(shared_node.node_id, staking.EXIT_FINALIZED()) in receipt.events
    assert staking.active_nodes() == 0
    assert staking.aggregate_pubkey() == b"\x00" * 128
    paid = 0
    for account in (operator, delegator, second_delegator):
        stake = staking.contribution(shared_node.node_id, account).stake
        rewards, unlocked = staking.claimable(shared_node.node_id, account)
        assert unlocked == stake
        before = token.balanceOf(account)
        staking.claim(shared_node.node_id, sender=account)
        assert token.balanceOf(account) == before + rewards + stake
        paid += stake
    assert paid == REQUIREMENT
    # Everything claimed: what is left is rewards not yet credited and rounding dust.
    dust = kept_for(staking, shared_node.node_id, (operator, delegator, second_delegator))
    assert 0 <= dust <= 3
    assert token.balanceOf(staking) == not_yet_credited(staking) + dust


def test_exited_node__earns_nothing_more(staking, pool, chain, shared_node, operator, keeper):
    staking.request_exit(shared_node.node_id, sender=operator)
    chain.pending_timestamp = staking.node(shared_node.node_id).unlock_time
    staking.finalize_exit(shared_node.node_id, sender=keeper)
    accrued = staking.node(shared_node.node_id).accrued_rewards
    chain.pending_timestamp += 5 * DAY
    staking.distribute(sender=keeper)
    assert staking.node(shared_node.node_id).accrued_rewards == accrued
    # With no active node left, the release is carried forward, not lost.
    assert not_yet_credited(staking) > 0


def test_exiting_node__keeps_earning_until_it_exits(
    staking, pool, chain, shared_node, operator, keeper
):
    staking.request_exit(shared_node.node_id, sender=operator)
    before = staking.node(shared_node.node_id).accrued_rewards
    chain.pending_timestamp += 2 * DAY
    staking.distribute(sender=keeper)
    assert staking.node(shared_node.node_id).accrued_rewards > before
