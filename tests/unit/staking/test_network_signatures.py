"""exit_with_signature / remove_with_signature / liquidate_with_signature: the network
acts on a node with an aggregate BLS signature of at least two thirds of active nodes."""

import ape
import pytest

from sesh.crypto import bls

from .conftest import REQUIREMENT

NODES = 6


@pytest.fixture(scope="module")
def network(staking, register, operator):
    """Six active solo nodes; returns them in id order."""
    return [register(operator, fee_bps=0) for _ in range(NODES)]


def _keys(network, skip=()):
    return [n.keys for n in network if n.node_id not in skip]


def _now(chain):
    chain.pending_timestamp += 1
    return chain.pending_timestamp


def test_remove__signed_by_all__removes_and_locks_the_stake_for_the_exit_delay(
    staking, token, chain, network, network_sign, keeper, operator
):
    target = network[2].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network))
    receipt = staking.remove_with_signature(target, now, signature, [], sender=keeper)
    assert staking.NodeExited(target, staking.EXIT_REMOVED()) in receipt.events
    info = staking.node(target)
    assert info.status == staking.STATUS_EXITED()
    assert info.unlock_time == now + staking.exit_delay()
    assert staking.active_nodes() == NODES - 1
    assert staking.claimable(target, operator)[1] == 0
    chain.pending_timestamp = info.unlock_time
    chain.mine()
    assert staking.claimable(target, operator)[1] == REQUIREMENT


def test_remove__keeps_the_aggregate_key_equal_to_the_sum_of_active_keys(
    staking, chain, network, network_sign, keeper
):
    target = network[0].node_id
    now = _now(chain)
    staking.remove_with_signature(
        target, now, network_sign("remove", target, now, _keys(network)), [], sender=keeper
    )
    expected = bls.aggregate_public_keys([n.keys.bls_pubkey for n in network[1:]])
    assert staking.aggregate_pubkey() == expected.to_eip2537()


def test_remove__with_a_third_not_signing__is_accepted(
    staking, chain, network, network_sign, keeper
):
    target = network[5].node_id
    non_signers = [network[1].node_id, network[5].node_id]  # 2 of 6: exactly a third
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network, skip=non_signers))
    staking.remove_with_signature(target, now, signature, non_signers, sender=keeper)
    assert staking.node(target).status == staking.STATUS_EXITED()


def test_remove__with_more_than_a_third_not_signing__is_refused(
    staking, chain, network, network_sign, keeper
):
    target = network[5].node_id
    non_signers = [n.node_id for n in network[:3]]
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network, skip=non_signers))
    with ape.reverts("staking: too many non-signers"):
        staking.remove_with_signature(target, now, signature, non_signers, sender=keeper)


@pytest.mark.parametrize("order", [[3, 2], [2, 2]], ids=["unsorted", "repeated"])
def test_remove__non_signers_unsorted_or_repeated__are_refused(
    staking, chain, network, network_sign, keeper, order
):
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network, skip=order))
    with ape.reverts("staking: non-signers not sorted"):
        staking.remove_with_signature(target, now, signature, order, sender=keeper)


def test_remove__listing_a_signer_as_non_signer__fails_verification(
    staking, chain, network, network_sign, keeper
):
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network))
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(target, now, signature, [network[1].node_id], sender=keeper)


def test_remove__non_signer_not_in_the_network__is_refused(
    staking, chain, network, network_sign, keeper, register, operator
):
    outsider = register(operator, stake=REQUIREMENT // 4)
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network))
    with ape.reverts("staking: node not active"):
        staking.remove_with_signature(target, now, signature, [outsider.node_id], sender=keeper)


def test_remove__exactly_at_the_expiry__is_accepted_one_second_later_refused(
    staking, chain, network, network_sign, keeper
):
    target, other = network[0].node_id, network[1].node_id
    signed_at = _now(chain)
    chain.mine()
    chain.pending_timestamp = signed_at + staking.SIGNATURE_EXPIRY() + 1
    with ape.reverts("staking: signature expired"):
        staking.remove_with_signature(
            target,
            signed_at,
            network_sign("remove", target, signed_at, _keys(network)),
            [],
            sender=keeper,
        )
    signed_at = chain.pending_timestamp
    chain.pending_timestamp = signed_at + staking.SIGNATURE_EXPIRY()
    staking.remove_with_signature(
        other,
        signed_at,
        network_sign("remove", other, signed_at, _keys(network)),
        [],
        sender=keeper,
    )
    assert staking.node(other).status == staking.STATUS_EXITED()


def test_remove__signed_in_the_future__is_refused(staking, chain, network, network_sign, keeper):
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now + 1, _keys(network))
    with ape.reverts("staking: signature from future"):
        staking.remove_with_signature(target, now + 1, signature, [], sender=keeper)


@pytest.mark.parametrize("where", ["chain", "contract"])
def test_remove__signature_for_another_chain_or_contract__is_refused(
    staking, chain, network, network_sign, keeper, where
):
    target = network[0].node_id
    now = _now(chain)
    other = (
        dict(chain_id=chain.chain_id + 1)
        if where == "chain"
        else dict(staking_address="0x" + "11" * 20)
    )
    signature = network_sign("remove", target, now, _keys(network), **other)
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(target, now, signature, [], sender=keeper)


def test_remove__with_an_exit_signature__is_refused(staking, chain, network, network_sign, keeper):
    """The tag is part of the message: a signature for one action is no use for another."""
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("exit", target, now, _keys(network))
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(target, now, signature, [], sender=keeper)


def test_remove__replayed__is_refused(staking, chain, network, network_sign, keeper):
    target = network[0].node_id
    now = _now(chain)
    signature = network_sign("remove", target, now, _keys(network))
    staking.remove_with_signature(target, now, signature, [], sender=keeper)
    with ape.reverts("staking: node not active"):
        staking.remove_with_signature(target, now, signature, [], sender=keeper)


def test_remove__for_another_node__is_refused(staking, chain, network, network_sign, keeper):
    now = _now(chain)
    signature = network_sign("remove", network[0].node_id, now, _keys(network))
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(network[1].node_id, now, signature, [], sender=keeper)


def test_remove__malformed_signature__is_refused_without_moving_anything(
    staking, token, chain, network, keeper
):
    target = network[0].node_id
    now = _now(chain)
    before = token.balanceOf(staking)
    for garbage in (b"", b"\x01" * 256, b"\x00" * 256):
        with ape.reverts("staking: bad network signature"):
            staking.remove_with_signature(target, now, garbage, [], sender=keeper)
    assert token.balanceOf(staking) == before
    assert staking.active_nodes() == NODES


def test_exit_with_signature__after_a_request_and_two_hours__unlocks_at_once(
    staking, chain, network, network_sign, keeper, operator
):
    target = network[0].node_id
    staking.request_exit(target, sender=operator)
    info = staking.node(target)
    chain.pending_timestamp = max(
        info.activated_at + staking.MIN_EXIT_AGE(),
        info.exit_requested_at + staking.MIN_EXIT_NOTICE(),
    )
    now = chain.pending_timestamp
    receipt = staking.exit_with_signature(
        target, now, network_sign("exit", target, now, _keys(network)), [], sender=keeper
    )
    assert staking.NodeExited(target, staking.EXIT_NETWORK()) in receipt.events
    assert staking.claimable(target, operator)[1] == REQUIREMENT


def test_exit_with_signature__too_young__is_refused(
    staking, chain, network, network_sign, keeper, operator
):
    target = network[0].node_id
    staking.request_exit(target, sender=operator)
    chain.pending_timestamp = staking.node(target).activated_at + staking.MIN_EXIT_AGE() - 1
    now = chain.pending_timestamp
    with ape.reverts("staking: node too young to exit"):
        staking.exit_with_signature(
            target, now, network_sign("exit", target, now, _keys(network)), [], sender=keeper
        )


def test_exit_with_signature__without_a_request__is_refused(
    staking, chain, network, network_sign, keeper
):
    target = network[0].node_id
    chain.pending_timestamp += 3 * 3600
    now = chain.pending_timestamp
    with ape.reverts("staking: no exit requested"):
        staking.exit_with_signature(
            target, now, network_sign("exit", target, now, _keys(network)), [], sender=keeper
        )


def test_liquidate__takes_the_penalty_and_splits_it_3_to_17(
    staking, token, pool, chain, network, register, operator, delegator, keeper, network_sign
):
    node = register(operator, stake=REQUIREMENT // 3 + 1)
    staking.contribute(node.node_id, REQUIREMENT - (REQUIREMENT // 3 + 1), sender=delegator)
    now = _now(chain)
    signature = network_sign("liquidate", node.node_id, now, [node.keys, *_keys(network)])
    pool_before, keeper_before = token.balanceOf(pool), token.balanceOf(keeper)
    receipt = staking.liquidate_with_signature(node.node_id, now, signature, [], sender=keeper)
    bps = staking.liquidation_penalty_bps()
    stakes = [REQUIREMENT // 3 + 1, REQUIREMENT - (REQUIREMENT // 3 + 1)]
    penalty = sum(s * bps // 10_000 for s in stakes)
    to_keeper = penalty * 3 // 20
    assert token.balanceOf(keeper) - keeper_before == to_keeper
    assert token.balanceOf(pool) - pool_before == penalty - to_keeper
    assert receipt.events.filter(staking.Liquidated) == [
        staking.Liquidated(node.node_id, keeper, penalty, to_keeper, penalty - to_keeper)
    ]
    # Locked as long as after a removal, then the rest of every stake comes back.
    unlock_time = staking.node(node.node_id).unlock_time
    assert unlock_time == receipt.timestamp + staking.exit_delay()
    assert staking.claimable(node.node_id, operator)[1] == 0
    chain.pending_timestamp = unlock_time
    chain.mine()
    assert staking.claimable(node.node_id, operator)[1] == stakes[0] - stakes[0] * bps // 10_000
    assert staking.claimable(node.node_id, delegator)[1] == stakes[1] - stakes[1] * bps // 10_000


def test_liquidate__of_an_open_node__is_refused(
    staking, chain, register, operator, keeper, network_sign, network
):
    node = register(operator, stake=REQUIREMENT // 4)
    now = _now(chain)
    with ape.reverts("staking: node not active"):
        staking.liquidate_with_signature(
            node.node_id,
            now,
            network_sign("liquidate", node.node_id, now, _keys(network)),
            [],
            sender=keeper,
        )
