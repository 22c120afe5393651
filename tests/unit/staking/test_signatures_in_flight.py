"""Network signatures are checked against the network as it stood at their timestamp:
the nodes active now that were activated before it (issue #15, scenario 6). A node
activated between signing and submission neither signs nor counts, so nobody can
postpone a removal by activating nodes while the network's signature is in flight."""

import ape
import pytest

from sesh.crypto import bls

from .conftest import REQUIREMENT

SIGNERS = 4


@pytest.fixture(scope="module")
def network(staking, chain, register, operator):
    """Four active solo nodes, activated well before any signature of the tests."""
    nodes = [register(operator, fee_bps=0) for _ in range(SIGNERS)]
    chain.pending_timestamp += 60
    return nodes


def _signing_time(chain, staking, network):
    """A timestamp after the network's activations (each test starts from the module's
    snapshot, whatever time the chain had reached)."""
    last = max(staking.node(n.node_id).activated_at for n in network)
    chain.pending_timestamp = max(chain.pending_timestamp, last + 60)
    return chain.pending_timestamp


def _activate(chain, register, who, count):
    """`count` nodes activated one second apart (the per-block limit never binds)."""
    nodes = []
    for _ in range(count):
        chain.pending_timestamp += 1
        nodes.append(register(who, fee_bps=0))
    return nodes


def _sign(network_sign, action, node_id, timestamp, nodes, skip=()):
    return network_sign(
        action, node_id, timestamp, [n.keys for n in nodes if n.node_id not in skip]
    )


def test_an_activation_between_signing_and_submission_does_not_invalidate_the_signature(
    staking, chain, network, register, network_sign, keeper, delegator
):
    """Scenario 6: one `register_node` activating between the network's signing and the
    submission made a removal signed by every node revert, and a failing operator could
    keep postponing its own removal that way. The late node is left out instead."""
    target = network[1].node_id
    signed_at = _signing_time(chain, staking, network)
    signature = _sign(network_sign, "remove", target, signed_at, network)
    # The attacker's activation lands first, in the same second as the signature.
    chain.pending_timestamp = signed_at
    late = register(delegator, fee_bps=0)
    assert staking.node(late.node_id).activated_at == signed_at
    chain.pending_timestamp = signed_at + 5
    staking.remove_with_signature(target, signed_at, signature, [], sender=keeper)
    assert staking.node(target).status == staking.STATUS_EXITED()
    # The late node stays in the network and in the aggregate key.
    members = [n for n in network if n.node_id != target] + [late]
    expected = bls.aggregate_public_keys([n.keys.bls_pubkey for n in members])
    assert staking.aggregate_pubkey() == expected.to_eip2537()
    assert staking.node(late.node_id).status == staking.STATUS_ACTIVE()


def test_a_node_activated_after_signing__cannot_be_listed_as_a_non_signer(
    staking, chain, network, register, network_sign, keeper, delegator
):
    target = network[0].node_id
    signed_at = _signing_time(chain, staking, network)
    signature = _sign(network_sign, "remove", target, signed_at, network)
    late = _activate(chain, register, delegator, 1)[0]
    with ape.reverts("staking: non-signer joined after signing"):
        staking.remove_with_signature(target, signed_at, signature, [late.node_id], sender=keeper)


def test_a_late_node_that_signs_anyway__is_not_counted_and_the_signature_fails(
    staking, chain, network, register, network_sign, keeper, delegator
):
    """The key checked is the members' at the timestamp: a late node's share makes the
    aggregate signature wrong, it cannot stand in for a member that did not sign."""
    target = network[0].node_id
    signed_at = _signing_time(chain, staking, network)
    late = _activate(chain, register, delegator, 1)[0]
    absent = network[3].node_id
    signature = _sign(network_sign, "remove", target, signed_at, network + [late], skip={absent})
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(target, signed_at, signature, [absent], sender=keeper)


def test_late_nodes__do_not_count_toward_the_one_third_allowance(
    staking, chain, network, register, network_sign, keeper, delegator
):
    """Four members at the timestamp allow one non-signer, not two, however many nodes
    activated since (with six active, two would be a third)."""
    target = network[2].node_id
    signed_at = _signing_time(chain, staking, network)
    absent = [network[0].node_id, network[3].node_id]
    signature = _sign(network_sign, "remove", target, signed_at, network, skip=set(absent))
    _activate(chain, register, delegator, 2)
    assert staking.active_nodes() == SIGNERS + 2
    with ape.reverts("staking: too many non-signers"):
        staking.remove_with_signature(target, signed_at, signature, absent, sender=keeper)
    one_absent = _sign(network_sign, "remove", target, signed_at, network, skip={absent[0]})
    staking.remove_with_signature(target, signed_at, one_absent, absent[:1], sender=keeper)
    assert staking.node(target).status == staking.STATUS_EXITED()


@pytest.mark.parametrize("late_count, accepted", [(31, True), (32, False)])
def test_more_activations_since_signing_than_remembered__is_refused_until_signed_again(
    staking, chain, network, register, network_sign, keeper, delegator, late_count, accepted
):
    """The contract remembers the last 32 activations: when all of them are at or after
    the timestamp an older one may be too, so the signature is refused (never checked
    against a key that may hold a node that did not sign); the network signs again."""
    assert staking.RECENT_ACTIVATIONS() == 32
    target = network[1].node_id
    signed_at = _signing_time(chain, staking, network)
    signature = _sign(network_sign, "remove", target, signed_at, network)
    late = _activate(chain, register, delegator, late_count)
    if accepted:
        staking.remove_with_signature(target, signed_at, signature, [], sender=keeper)
        assert staking.node(target).status == staking.STATUS_EXITED()
        return
    with ape.reverts("staking: too many activations since signing"):
        staking.remove_with_signature(target, signed_at, signature, [], sender=keeper)
    # Signed again once the late nodes are members, by every node now in the network.
    chain.pending_timestamp += 1
    now = chain.pending_timestamp
    signature = _sign(network_sign, "remove", target, now, network + late)
    staking.remove_with_signature(target, now, signature, [], sender=keeper)
    assert staking.node(target).status == staking.STATUS_EXITED()


def test_exit_signed_before_activations__still_exits(
    staking, chain, network, register, network_sign, keeper, operator, delegator
):
    """The same rule for a network-signed exit (and liquidation: one code path)."""
    node = network[3]
    staking.request_exit(node.node_id, sender=operator)
    chain.pending_timestamp += 2 * 3600
    signed_at = _signing_time(chain, staking, network)
    signature = _sign(network_sign, "exit", node.node_id, signed_at, network)
    _activate(chain, register, delegator, 3)
    staking.exit_with_signature(node.node_id, signed_at, signature, [], sender=keeper)
    info = staking.node(node.node_id)
    assert info.status == staking.STATUS_EXITED() and info.exit_reason == staking.EXIT_NETWORK()
    assert staking.claimable(node.node_id, operator)[1] == REQUIREMENT
