"""distribute / claim / claim_many: equal shares per node, fee first, then by stake."""

import ape
import pytest

from sesh.rules.economics import DAY, releasable

from .conftest import REQUIREMENT

QUARTER = REQUIREMENT // 4


def _next_pool_day(chain, pool, days=1):
    start = pool.START()
    today = (chain.pending_timestamp - start) // DAY
    chain.pending_timestamp = start + (today + days) * DAY


def test_distribute__without_active_nodes__carries_the_release_forward(
    staking, pool, token, chain, keeper
):
    before = token.balanceOf(pool)
    _next_pool_day(chain, pool)
    receipt = staking.distribute(sender=keeper)
    released = before - token.balanceOf(pool)
    assert released == releasable(before, 1) > 0
    assert staking.undistributed() == released
    assert staking.reward_per_node() == 0
    assert receipt.events.filter(staking.RewardsDistributed) == [
        staking.RewardsDistributed(released, 0, 0)
    ]


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


def test_distribute__credits_every_active_node_equally_and_carries_the_remainder(
    staking, pool, token, chain, register, operator, keeper
):
    nodes = [register(operator) for _ in range(3)]
    register(operator, stake=QUARTER)  # open: earns nothing
    carried = staking.undistributed()
    before = token.balanceOf(pool)
    _next_pool_day(chain, pool)
    staking.distribute(sender=keeper)
    released = before - token.balanceOf(pool)
    per_node = (released + carried) // 3
    assert staking.reward_per_node() == per_node
    assert staking.undistributed() == released + carried - 3 * per_node
    for node in nodes:
        assert staking.node(node.node_id).accrued_rewards == per_node


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
    assert token.balanceOf(operator) == before + accrued
    assert receipt.events.filter(staking.Claimed) == [
        staking.Claimed(node.node_id, operator, accrued, 0)
    ]
    with ape.reverts("staking: nothing to claim"):
        staking.claim(node.node_id, sender=operator)


def test_claim__splits_fee_then_stake_and_the_operator_takes_the_remainders(
    staking, token, pool, chain, register, operator, delegator, second_delegator, keeper
):
    fee_bps = 1_500
    node = register(operator, stake=QUARTER + 3, fee_bps=fee_bps)
    staking.contribute(node.node_id, QUARTER * 2 - 7, sender=delegator)
    staking.contribute(node.node_id, REQUIREMENT - (QUARTER * 3 - 4), sender=second_delegator)
    _next_pool_day(chain, pool, days=2)
    staking.distribute(sender=keeper)
    accrued = staking.node(node.node_id).accrued_rewards
    stakes = {
        a: staking.contribution(node.node_id, a).stake
        for a in (operator, delegator, second_delegator)
    }
    assert sum(stakes.values()) == REQUIREMENT

    def share(account):
        return accrued * (10_000 - fee_bps) * stakes[account] // (10_000 * REQUIREMENT)

    expected = {
        delegator: share(delegator),
        second_delegator: share(second_delegator),
        operator: accrued - share(delegator) - share(second_delegator),
    }
    # The operator's part is its fee plus its own share, give or take rounding units.
    assert abs(expected[operator] - (accrued * fee_bps // 10_000 + share(operator))) <= 2
    for account, amount in expected.items():
        before = token.balanceOf(account)
        staking.claim(node.node_id, sender=account)
        assert token.balanceOf(account) == before + amount
    assert sum(expected.values()) == accrued


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
    assert staking.claimable(node.node_id, operator)[0] == accrued - delegator_rewards
