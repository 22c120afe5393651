"""`sweep`: SESH sent to the staking contract by plain transfer (owed to nobody) goes to
the reward pool; what the contract owes (stakes, rewards, the stream) never moves."""

import ape

from .conftest import REQUIREMENT, kept_for, not_yet_credited

DAY = 86400


def _swept(staking, receipt):
    (log,) = staking.Swept.from_receipt(receipt)
    return log.amount


def test_sesh_sent_straight_to_staking__is_swept_to_the_pool(
    staking, token, pool, register, operator, keeper, attacker, deployer
):
    register(operator)
    stray = 1_234 * 10**9 + 7
    token.transfer(staking, stray, sender=deployer)
    staking_before, pool_before = token.balanceOf(staking), token.balanceOf(pool)
    receipt = staking.sweep(sender=attacker)  # anyone
    assert _swept(staking, receipt) == stray
    assert token.balanceOf(staking) == staking_before - stray
    assert token.balanceOf(pool) == pool_before + stray
    # A second sweep finds nothing.
    assert _swept(staking, staking.sweep(sender=keeper)) == 0


def test_sweep__never_takes_what_is_owed(
    staking, token, pool, chain, register, operator, delegator, keeper, deployer
):
    """Stakes, streamed and unstreamed rewards stay: after a sweep every contributor still
    gets every unit owed, and the contract keeps only the floors' dust and the stream."""
    node = register(operator, stake=REQUIREMENT // 2)
    staking.contribute(node.node_id, REQUIREMENT // 2, sender=delegator)
    chain.pending_timestamp += DAY + 3_600
    staking.distribute(sender=keeper)
    chain.pending_timestamp += 5 * 3_600
    staking.distribute(sender=keeper)
    token.transfer(staking, 10**9, sender=deployer)
    assert _swept(staking, staking.sweep(sender=keeper)) == 10**9
    staking.request_exit(node.node_id, sender=operator)
    chain.pending_timestamp += staking.node(node.node_id).unlock_time - chain.pending_timestamp
    staking.finalize_exit(node.node_id, sender=keeper)
    for who in (operator, delegator):
        rewards, stake = staking.claimable(node.node_id, who)
        assert stake == REQUIREMENT // 2 and rewards > 0
        staking.claim(node.node_id, sender=who)
    assert _swept(staking, staking.sweep(sender=keeper)) == 0
    left = token.balanceOf(staking)
    assert left == kept_for(staking, node.node_id, (operator, delegator)) + not_yet_credited(
        staking
    )


def test_sweep__after_a_distribution_and_a_claim__finds_nothing(
    staking, token, chain, register, operator, keeper
):
    """Money that leaves through the contract's own paths (claims, a penalty to the pool)
    is accounted for: no sweep afterwards finds anything."""
    node = register(operator)
    chain.pending_timestamp += DAY + 60
    staking.distribute(sender=keeper)
    staking.claim(node.node_id, sender=operator)
    assert _swept(staking, staking.sweep(sender=keeper)) == 0


def test_sweep__with_no_stray_sesh__moves_nothing(staking, token, pool, keeper):
    pool_before = token.balanceOf(pool)
    assert _swept(staking, staking.sweep(sender=keeper)) == 0
    assert token.balanceOf(pool) == pool_before


def test_an_unknown_function__still_reverts(staking, keeper):
    """The fallback delegates to the extension, which has no such function."""
    with ape.reverts():
        keeper.transfer(staking, 0, data=b"\x12\x34\x56\x78")
