"""contribute / withdraw_contribution / cancel_node on open nodes."""

import ape
import pytest

from .conftest import REQUIREMENT

QUARTER = REQUIREMENT // 4


@pytest.fixture
def open_node(register, operator):
    return register(operator, stake=QUARTER, fee_bps=1_000)


def test_contribute__adds_to_the_stake_and_logs(staking, token, open_node, delegator):
    before = token.balanceOf(delegator)
    receipt = staking.contribute(open_node.node_id, QUARTER, sender=delegator)
    assert staking.node(open_node.node_id).total_stake == 2 * QUARTER
    assert staking.contribution(open_node.node_id, delegator).stake == QUARTER
    assert token.balanceOf(delegator) == before - QUARTER
    assert receipt.events.filter(staking.Contributed) == [
        staking.Contributed(open_node.node_id, delegator, QUARTER, 2 * QUARTER)
    ]


def test_contribute__filling_the_stake__activates_the_node(staking, open_node, delegator):
    receipt = staking.contribute(open_node.node_id, REQUIREMENT - QUARTER, sender=delegator)
    assert staking.node(open_node.node_id).status == staking.STATUS_ACTIVE()
    assert staking.NodeActivated(open_node.node_id) in receipt.events
    assert staking.active_nodes() == 1
    assert staking.aggregate_pubkey() == open_node.keys.bls_pubkey.to_eip2537()


def test_contribute__minimum_is_what_is_left_over_free_slots_rounded_up(
    staking, open_node, delegator
):
    minimum = -(-(REQUIREMENT - QUARTER) // 9)
    assert staking.min_contribution(open_node.node_id) == minimum
    with ape.reverts("staking: below min contribution"):
        staking.contribute(open_node.node_id, minimum - 1, sender=delegator)
    staking.contribute(open_node.node_id, minimum, sender=delegator)
    assert staking.contribution(open_node.node_id, delegator).stake == minimum


def test_contribute__above_what_is_left__is_refused_and_moves_nothing(
    staking, token, open_node, delegator
):
    before = token.balanceOf(delegator)
    with ape.reverts("staking: above what is left"):
        staking.contribute(open_node.node_id, REQUIREMENT - QUARTER + 1, sender=delegator)
    assert token.balanceOf(delegator) == before


def test_contribute__zero__is_refused(staking, open_node, delegator):
    with ape.reverts("staking: zero amount"):
        staking.contribute(open_node.node_id, 0, sender=delegator)


def test_contribute__to_an_unknown_node__is_refused(staking, delegator):
    with ape.reverts("staking: unknown node"):
        staking.contribute(42, QUARTER, sender=delegator)


def test_contribute__to_an_active_node__is_refused(staking, register, operator, delegator):
    node = register(operator)
    with ape.reverts("staking: node not open"):
        staking.contribute(node.node_id, QUARTER, sender=delegator)


def test_contribute__top_up_by_a_contributor__needs_no_minimum(staking, open_node, delegator):
    minimum = staking.min_contribution(open_node.node_id)
    staking.contribute(open_node.node_id, minimum, sender=delegator)
    staking.contribute(open_node.node_id, 1, sender=delegator)
    staking.contribute(open_node.node_id, 1, sender=open_node.operator)
    assert staking.contribution(open_node.node_id, delegator).stake == minimum + 1
    assert staking.contribution(open_node.node_id, open_node.operator).stake == QUARTER + 1


def test_contribute__ten_contributors_fill_every_slot(
    staking, token, open_node, accounts, deployer
):
    share = -(-(REQUIREMENT - QUARTER) // 9)
    for _ in range(9):
        account = accounts.generate_test_account()
        token.transfer(account, share, sender=deployer)
        token.approve(staking, share, sender=account)
        left = REQUIREMENT - staking.node(open_node.node_id).total_stake
        staking.contribute(open_node.node_id, min(share, left), sender=account)
    assert staking.node(open_node.node_id).status == staking.STATUS_ACTIVE()
    assert len(staking.contributors(open_node.node_id)) == 10


def test_contribute__eleventh_contributor__finds_no_slot(
    staking, register, operator, accounts, deployer, token
):
    node = register(operator, stake=QUARTER)
    for _ in range(9):
        account = accounts.generate_test_account()
        token.transfer(account, 10**15, sender=deployer)
        token.approve(staking, 10**15, sender=account)
        staking.contribute(node.node_id, staking.min_contribution(node.node_id), sender=account)
    assert staking.node(node.node_id).status == staking.STATUS_ACTIVE()


def test_contribute__reserved_delegator__brings_at_least_the_reservation(
    staking, register, operator, delegator
):
    node = register(operator, stake=QUARTER, reserved=[(delegator, QUARTER)])
    with ape.reverts("staking: below reserved amount"):
        staking.contribute(node.node_id, QUARTER - 1, sender=delegator)
    staking.contribute(node.node_id, QUARTER + 5, sender=delegator)
    assert staking.contribution(node.node_id, delegator).stake == QUARTER + 5


def test_contribute__public_cannot_take_what_reservations_hold(
    staking, register, operator, delegator, second_delegator
):
    node = register(operator, stake=QUARTER, reserved=[(delegator, 2 * QUARTER)])
    with ape.reverts("staking: above what is left"):
        staking.contribute(node.node_id, QUARTER + 1, sender=second_delegator)
    staking.contribute(node.node_id, QUARTER, sender=second_delegator)
    staking.contribute(node.node_id, 2 * QUARTER, sender=delegator)
    assert staking.node(node.node_id).status == staking.STATUS_ACTIVE()


def test_contribute__with_permit(staking, token, chain, open_node, accounts, deployer):
    from sesh.contracts.permit import sign_permit

    newcomer = accounts.generate_test_account()
    token.transfer(newcomer, QUARTER, sender=deployer)
    permit = sign_permit(newcomer, token, staking.address, QUARTER, chain.pending_timestamp + 600)
    staking.contribute_with_permit(open_node.node_id, QUARTER, *permit.as_args(), sender=newcomer)
    assert staking.contribution(open_node.node_id, newcomer).stake == QUARTER


def test_withdraw__after_a_day__returns_the_whole_contribution(
    staking, token, chain, open_node, delegator
):
    staking.contribute(open_node.node_id, QUARTER, sender=delegator)
    before = token.balanceOf(delegator)
    chain.pending_timestamp += staking.WITHDRAW_DELAY()
    receipt = staking.withdraw_contribution(open_node.node_id, sender=delegator)
    assert token.balanceOf(delegator) == before + QUARTER
    assert staking.node(open_node.node_id).total_stake == QUARTER
    assert staking.contributors(open_node.node_id) == [open_node.operator]
    assert receipt.events.filter(staking.ContributionWithdrawn) == [
        staking.ContributionWithdrawn(open_node.node_id, delegator, QUARTER)
    ]


def test_withdraw__within_a_day__is_refused_and_moves_nothing(
    staking, token, chain, open_node, delegator
):
    staking.contribute(open_node.node_id, QUARTER, sender=delegator)
    before = token.balanceOf(delegator)
    chain.pending_timestamp += staking.WITHDRAW_DELAY() - 5
    with ape.reverts("staking: withdrawal too early"):
        staking.withdraw_contribution(open_node.node_id, sender=delegator)
    assert token.balanceOf(delegator) == before


def test_withdraw__by_the_operator__is_refused(staking, chain, open_node):
    chain.pending_timestamp += 2 * 86400
    with ape.reverts("staking: operator must cancel"):
        staking.withdraw_contribution(open_node.node_id, sender=open_node.operator)


def test_withdraw__by_a_non_contributor__is_refused(staking, open_node, attacker):
    with ape.reverts("staking: nothing contributed"):
        staking.withdraw_contribution(open_node.node_id, sender=attacker)


def test_withdraw__from_an_active_node__is_refused(staking, chain, open_node, delegator):
    staking.contribute(open_node.node_id, REQUIREMENT - QUARTER, sender=delegator)
    chain.pending_timestamp += 2 * 86400
    with ape.reverts("staking: node not open"):
        staking.withdraw_contribution(open_node.node_id, sender=delegator)


def test_withdraw__by_a_reserved_delegator__keeps_the_slot_reserved(
    staking, chain, register, operator, delegator
):
    node = register(operator, stake=QUARTER, reserved=[(delegator, QUARTER)])
    staking.contribute(node.node_id, QUARTER, sender=delegator)
    chain.pending_timestamp += 86400
    staking.withdraw_contribution(node.node_id, sender=delegator)
    held = staking.contribution(node.node_id, delegator)
    assert (held.stake, held.reserved) == (0, QUARTER)
    staking.contribute(node.node_id, QUARTER, sender=delegator)
    assert staking.contribution(node.node_id, delegator).stake == QUARTER


def test_cancel__returns_every_stake_through_claims(staking, token, open_node, delegator):
    staking.contribute(open_node.node_id, QUARTER, sender=delegator)
    receipt = staking.cancel_node(open_node.node_id, sender=open_node.operator)
    assert staking.NodeExited(open_node.node_id, staking.EXIT_CANCELLED()) in receipt.events
    assert staking.node(open_node.node_id).status == staking.STATUS_CANCELLED()
    for account in (open_node.operator, delegator):
        before = token.balanceOf(account)
        assert staking.claimable(open_node.node_id, account) == (0, QUARTER)
        staking.claim(open_node.node_id, sender=account)
        assert token.balanceOf(account) == before + QUARTER
    assert token.balanceOf(staking) == 0


def test_cancel__by_anyone_but_the_operator__is_refused(staking, open_node, attacker):
    with ape.reverts("staking: not the operator"):
        staking.cancel_node(open_node.node_id, sender=attacker)


def test_cancel__an_active_node__is_refused(staking, register, operator):
    node = register(operator)
    with ape.reverts("staking: node not open"):
        staking.cancel_node(node.node_id, sender=operator)


def test_set_endpoint__by_the_operator__logs_the_new_endpoint(staking, open_node, attacker):
    receipt = staking.set_endpoint(open_node.node_id, "198.51.100.4:443", sender=open_node.operator)
    assert receipt.events == [staking.EndpointUpdated(open_node.node_id, "198.51.100.4:443")]
    with ape.reverts("staking: not the operator"):
        staking.set_endpoint(open_node.node_id, "198.51.100.4:443", sender=attacker)
    with ape.reverts("staking: empty endpoint"):
        staking.set_endpoint(open_node.node_id, "", sender=open_node.operator)
