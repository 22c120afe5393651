"""distribute / claim / claim_many: equal shares per node, fee first, then by stake."""

import ape
import pytest

from sesh.rules.economics import DAY, releasable

from .conftest import REQUIREMENT, kept_for, not_yet_credited

QUARTER = REQUIREMENT // 4


def _next_pool_day(chain, pool, days=1):
    start = pool.START()
    today = (chain.pending_timestamp - start) // DAY
    chain.pending_timestamp = start + (today + days) * DAY


def test_distribute__without_active_nodes__streams_the_release_into_undistributed(
    staking, pool, token, chain, keeper
):
    before = token.balanceOf(pool)
    _next_pool_day(chain, pool)
    carried = not_yet_credited(staking)
    receipt = staking.distribute(sender=keeper)
    released = before - token.balanceOf(pool)
    assert released == releasable(pool.earning_balance() + released, 1) > 0
    assert staking.unstreamed() == released + carried
    assert staking.reward_per_node() == 0
    assert receipt.events.filter(staking.RewardsDistributed) == [
        staking.RewardsDistributed(released, 0, 0)
    ]
    # A day later the whole stream went by with no node to earn it: nothing is lost.
    _next_pool_day(chain, pool)
    chain.mine()
    assert staking.unstreamed() == 0
    assert staking.undistributed() == released + carried


def test_distribute__twice_in_a_pool_day__pulls_once(
    staking, pool, token, chain, register, operator, keeper
):
    register(operator)
    _next_pool_day(chain, pool)
    staking.distribute(sender=keeper)
    balance = token.balanceOf(pool)
    chain.pending_timestamp += 60
    receipt = staking.distribute(sender=keeper)
    assert token.balanceOf(pool) == balance
    assert receipt.events.filter(staking.RewardsDistributed) == []


def test_distribute__streams_a_release_over_the_next_pool_day_equally_per_node(
    staking, pool, token, chain, register, operator, keeper
):
    nodes = [register(operator) for _ in range(3)]
    register(operator, stake=QUARTER)  # open: earns nothing
    _next_pool_day(chain, pool)
    staking.distribute(sender=keeper)
    stream = staking.unstreamed()
    accrued = [staking.node(n.node_id).accrued_rewards for n in nodes]
    # Half a day later, half the stream is paid; at the next day, all of it.
    _next_pool_day(chain, pool)
    chain.pending_timestamp -= DAY // 2
    chain.mine()
    assert abs(staking.unstreamed() - stream // 2) <= 1
    _next_pool_day(chain, pool)
    chain.mine()
    assert staking.unstreamed() == 0
    for node, before in zip(nodes, accrued, strict=True):
        gained = staking.node(node.node_id).accrued_rewards - before
        assert stream // 3 - 2 <= gained <= stream // 3


def test_claim__solo_operator__gets_the_whole_accrual(
    staking, token, pool, chain, register, operator, keeper
):
    node = register(operator, fee_bps=0)
    _next_pool_day(chain, pool, days=3)
    staking.distribute(sender=keeper)
    accrued = staking.node(node.node_id).accrued_rewards
    assert accrued > 0
    assert staking.claimable(node.node_id, operator) == (accrued, 0)
    before = token.balanceOf(operator)
    receipt = staking.claim(node.node_id, sender=operator)
    # Rewards stream by the second: the claim pays what the node had accrued at the
    # claim's own block (anvil's clock may have moved a second or two since the reads
    # above), and leaves nothing claimable at that block.
    at_claim = receipt.block_number
    paid = staking.node(node.node_id, block_id=at_claim).accrued_rewards
    assert paid >= accrued
    assert token.balanceOf(operator) == before + paid
    assert receipt.events.filter(staking.Claimed) == [
        staking.Claimed(node.node_id, operator, paid, 0)
    ]
    assert staking.claimable(node.node_id, operator, block_id=at_claim) == (0, 0)


def test_claim__splits_fee_then_stake__each_part_a_floor_of_its_own(
    staking, token, pool, chain, register, operator, delegator, second_delegator, keeper
):
    fee_bps = 1_500
    node = register(operator, stake=QUARTER + 3, fee_bps=fee_bps)
    staking.contribute(node.node_id, QUARTER * 2 - 7, sender=delegator)
    staking.contribute(node.node_id, REQUIREMENT - (QUARTER * 3 - 4), sender=second_delegator)
    _next_pool_day(chain, pool, days=2)
    staking.request_exit(node.node_id, sender=operator)
    chain.pending_timestamp = staking.node(node.node_id).unlock_time
    staking.finalize_exit(node.node_id, sender=keeper)
    accrued = staking.node(node.node_id).accrued_rewards  # frozen at the exit
    assert accrued > 0
    stakes = {
        a: staking.contribution(node.node_id, a).stake
        for a in (operator, delegator, second_delegator)
    }
    assert sum(stakes.values()) == REQUIREMENT

    def by_stake(account):
        return accrued * (10_000 - fee_bps) * stakes[account] // (10_000 * REQUIREMENT)

    expected = {
        delegator: by_stake(delegator),
        second_delegator: by_stake(second_delegator),
        # Fee and own share in one floor.
        operator: accrued
        * (fee_bps * REQUIREMENT + (10_000 - fee_bps) * stakes[operator])
        // (10_000 * REQUIREMENT),
    }
    for account, amount in expected.items():
        before = token.balanceOf(account)
        staking.claim(node.node_id, sender=account)
        assert token.balanceOf(account) == before + amount + stakes[account]
    # The floors leave less than a unit each, kept in the contract.
    assert 0 <= accrued - sum(expected.values()) < 3
    assert kept_for(staking, node.node_id, expected) == accrued - sum(expected.values())


def test_claim__by_a_stranger__has_nothing_to_claim(
    staking, pool, chain, register, operator, attacker, keeper
):
    node = register(operator)
    _next_pool_day(chain, pool)
    staking.distribute(sender=keeper)
    assert staking.claimable(node.node_id, attacker) == (0, 0)
    with ape.reverts("staking: nothing to claim"):
        staking.claim(node.node_id, sender=attacker)


def test_claim__of_an_unknown_node__has_nothing_to_claim(staking, operator):
    with ape.reverts("staking: nothing to claim"):
        staking.claim(99, sender=operator)


def test_claim__calls_distribute_first(staking, token, pool, chain, register, operator):
    node = register(operator, fee_bps=0)
    _next_pool_day(chain, pool, days=2)
    pool_before = token.balanceOf(pool)
    staking.claim(node.node_id, sender=operator)
    assert token.balanceOf(pool) < pool_before
    assert staking.claimable(node.node_id, operator)[0] == 0


def test_claim_many__pays_several_nodes_in_one_transfer(
    staking, token, pool, chain, register, operator, keeper
):
    nodes = [register(operator, fee_bps=0) for _ in range(3)]
    _next_pool_day(chain, pool, days=2)
    staking.distribute(sender=keeper)
    total = sum(staking.claimable(n.node_id, operator)[0] for n in nodes)
    before = token.balanceOf(operator)
    receipt = staking.claim_many([n.node_id for n in nodes] + [77], sender=operator)
    assert token.balanceOf(operator) == before + total
    assert len(receipt.events.filter(staking.Claimed)) == 3


def test_claim_many__with_nothing_anywhere__is_refused(staking, operator):
    with ape.reverts("staking: nothing to claim"):
        staking.claim_many([1, 2], sender=operator)


def test_rewards__a_node_activated_later__earns_only_from_its_activation(
    staking, pool, chain, register, operator, keeper
):
    early = register(operator)
    _next_pool_day(chain, pool, days=2)
    staking.distribute(sender=keeper)
    late = register(operator)  # registers (and distributes) after the first two days
    assert staking.node(late.node_id).accrued_rewards == 0
    _next_pool_day(chain, pool)
    staking.distribute(sender=keeper)
    early_info, late_info = staking.node(early.node_id), staking.node(late.node_id)
    assert late_info.accrued_rewards > 0
    assert early_info.accrued_rewards > late_info.accrued_rewards


@pytest.mark.parametrize("fee_bps", [0, 10_000])
def test_claim__fee_extremes(
    staking, token, pool, chain, register, operator, delegator, keeper, fee_bps
):
    node = register(operator, stake=REQUIREMENT // 2, fee_bps=fee_bps)
    staking.contribute(node.node_id, REQUIREMENT // 2, sender=delegator)
    _next_pool_day(chain, pool, days=2)
    staking.distribute(sender=keeper)
    accrued = staking.node(node.node_id).accrued_rewards
    delegator_rewards = staking.claimable(node.node_id, delegator)[0]
    assert delegator_rewards == (accrued // 2 if fee_bps == 0 else 0)
    assert staking.claimable(node.node_id, operator)[0] == (
        accrued // 2 if fee_bps == 0 else accrued
    )
