"""One test per finding of the audits of Session's live staking contracts, showing the
same mistake cannot happen here."""

import ape

from sesh.crypto import bls

from .conftest import REQUIREMENT, kept_for

QUARTER = REQUIREMENT // 4


def test_many_keys_in_one_block__are_capped_so_no_one_controls_the_aggregate(
    staking, chain, node_keys, operator
):
    """Flash-loan control of the aggregate key: at most max(20, 2 % of active) nodes
    may activate in one block, so borrowed stake cannot outvote the network at once."""
    limit = staking.activations_allowed_per_block()
    assert limit == 20
    web3 = chain.provider.web3
    nonce = operator.nonce
    hashes = []
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        for i in range(limit + 1):
            keys = node_keys(700 + i)
            args = keys.registration_args(chain.chain_id, staking.address, operator.address)
            txn = staking.register_node.as_transaction(
                *args, "h:1", 0, REQUIREMENT, [], sender=operator, gas=1_500_000, nonce=nonce + i
            )
            signed = operator.sign_transaction(txn)
            hashes.append(web3.eth.send_raw_transaction(signed.serialize_transaction()))
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
    receipts = [web3.eth.get_transaction_receipt(h) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1, "all in one block"
    assert [r["status"] for r in receipts] == [1] * limit + [0]
    assert staking.active_nodes() == limit


def test_rogue_key_without_proof_of_possession__is_refused(staking, chain, node_keys, operator):
    """Registration without a valid proof of possession (rogue-key attack)."""
    keys = node_keys(900)
    pubkey, sig, bls_key, _ = keys.registration_args(
        chain.chain_id, staking.address, operator.address
    )
    # A signature with the wrong DST (a plain signature, not a proof of possession).
    message = bls.pop_message(
        chain.chain_id, staking.address, operator.address, keys.ed25519_pubkey, keys.bls_pubkey
    )
    plain = bls.sign(keys.bls, message, bls.DST_SIG).to_eip2537()
    with ape.reverts("staking: bad proof of possession"):
        staking.register_node(
            pubkey, sig, bls_key, plain, "h:1", 0, REQUIREMENT, [], sender=operator
        )


def test_liquidation_shares__add_up_to_the_penalty_exactly(
    staking, token, pool, chain, register, operator, delegator, second_delegator, keeper,
    network_sign, deployer,
):  # fmt: skip
    """Liquidation shares rounded down lost units (or reverted): here every unit of every
    stake ends with the caller, the pool or the contributor."""
    staking.set_liquidation_penalty_bps(777, sender=deployer)
    node = register(operator, stake=QUARTER + 333)
    staking.contribute(node.node_id, QUARTER + 17, sender=delegator)
    staking.contribute(node.node_id, REQUIREMENT - 2 * QUARTER - 350, sender=second_delegator)
    chain.pending_timestamp += 1
    now = chain.pending_timestamp
    pool_before, keeper_before = token.balanceOf(pool), token.balanceOf(keeper)
    staking.liquidate_with_signature(
        node.node_id,
        now,
        network_sign("liquidate", node.node_id, now, [node.keys]),
        [],
        sender=keeper,
    )
    paid_out = (token.balanceOf(pool) - pool_before) + (token.balanceOf(keeper) - keeper_before)
    chain.pending_timestamp = staking.node(node.node_id).unlock_time
    returned = 0
    for account in (operator, delegator, second_delegator):
        receipt = staking.claim(node.node_id, sender=account)
        [claimed] = receipt.events.filter(staking.Claimed)
        returned += claimed.stake
    assert paid_out > 0
    assert paid_out + returned == REQUIREMENT
    dust = kept_for(staking, node.node_id, (operator, delegator, second_delegator))
    assert 0 <= dust < 3


def test_signature_timestamps__boundaries_are_exact(
    staking, chain, register, operator, keeper, network_sign
):
    """Off-by-one in the timestamp checks: now - 600 is accepted, now - 601 and now + 1 are not."""
    nodes = [register(operator) for _ in range(3)]
    keys = [n.keys for n in nodes]
    chain.pending_timestamp += 700  # the signers were active before the oldest timestamp
    now = chain.pending_timestamp
    for stale, node in ((now - 601, nodes[0]),):
        with ape.reverts("staking: signature expired"):
            staking.remove_with_signature(
                node.node_id,
                stale,
                network_sign("remove", node.node_id, stale, keys),
                [],
                sender=keeper,
            )
    chain.pending_timestamp = now
    with ape.reverts("staking: signature from future"):
        staking.remove_with_signature(
            nodes[0].node_id,
            now + 1,
            network_sign("remove", nodes[0].node_id, now + 1, keys),
            [],
            sender=keeper,
        )
    chain.pending_timestamp = now
    staking.remove_with_signature(
        nodes[0].node_id,
        now - 600,
        network_sign("remove", nodes[0].node_id, now - 600, keys),
        [],
        sender=keeper,
    )
    assert staking.node(nodes[0].node_id).status == staking.STATUS_EXITED()


def test_signature_replay__on_another_node_or_after_use__is_refused(
    staking, chain, register, operator, keeper, network_sign
):
    """Signature replay: the digest binds tag, chain, contract, node and time; the node's
    state changes once used."""
    nodes = [register(operator) for _ in range(3)]
    keys = [n.keys for n in nodes]
    chain.pending_timestamp += 1
    now = chain.pending_timestamp
    signature = network_sign("remove", nodes[0].node_id, now, keys)
    staking.remove_with_signature(nodes[0].node_id, now, signature, [], sender=keeper)
    with ape.reverts("staking: node not active"):
        staking.remove_with_signature(nodes[0].node_id, now, signature, [], sender=keeper)
    with ape.reverts("staking: bad network signature"):
        staking.remove_with_signature(nodes[1].node_id, now, signature, [], sender=keeper)


def test_withdrawal_then_new_contributors__the_node_still_fills_and_activates(
    staking, chain, register, operator, delegator, second_delegator, accounts, token, deployer
):
    """A contract stuck after a contributor withdraws: withdrawing frees the slot and the
    stake, and the node can still be filled by others and activate."""
    node = register(operator, stake=QUARTER)
    minimum = staking.min_contribution(node.node_id)
    staking.contribute(node.node_id, minimum, sender=delegator)
    staking.contribute(node.node_id, minimum, sender=second_delegator)
    chain.pending_timestamp += 86400
    staking.withdraw_contribution(node.node_id, sender=delegator)
    assert staking.contributors(node.node_id) == [operator, second_delegator]
    assert staking.min_contribution(node.node_id) == -(-(REQUIREMENT - QUARTER - minimum) // 8)
    rest = REQUIREMENT - staking.node(node.node_id).total_stake
    staking.contribute(node.node_id, rest, sender=delegator)
    assert staking.node(node.node_id).status == staking.STATUS_ACTIVE()
