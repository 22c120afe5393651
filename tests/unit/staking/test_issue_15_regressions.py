"""Regressions of issue #15 (an independent review): one test per scenario, named after
what it prevents."""

import ape
import pytest

from sesh.rules.economics import DAY

from .conftest import REQUIREMENT, kept_for

QUARTER = REQUIREMENT // 4
HOUR = 3600


@pytest.fixture(scope="module")
def network(register, operator):
    """Three active solo nodes that sign for the network."""
    return [register(operator, fee_bps=0) for _ in range(3)]


def _boundary(pool, timestamp, days=1):
    """The first second of the pool day `days` after the one `timestamp` falls in."""
    start = pool.START()
    return start + ((timestamp - start) // DAY + days) * DAY


def test_two_hours_of_stake_earns_two_hours_not_a_day(
    staking, pool, chain, register, operator, delegator, keeper, network, network_sign
):
    """Scenario 1: a node registered 2 h before a pool day's end and fast-exited right
    after it was credited a whole day (the day's release went to the nodes active at
    the next day's first call). It now earns its two hours of the stream."""
    honest = network[0].node_id
    chain.pending_timestamp = _boundary(pool, chain.pending_timestamp)
    staking.distribute(sender=keeper)  # today's stream starts: yesterday's release
    stream = staking.unstreamed()
    honest_before = staking.node(honest).accrued_rewards
    boundary = _boundary(pool, chain.pending_timestamp)
    chain.pending_timestamp = boundary - 2 * HOUR
    attacker = register(delegator, fee_bps=0)
    staking.request_exit(attacker.node_id, sender=delegator)
    chain.pending_timestamp = boundary + 1
    now = boundary + 1
    keys = [n.keys for n in network] + [attacker.keys]
    signature = network_sign("exit", attacker.node_id, now, keys)
    staking.exit_with_signature(attacker.node_id, now, signature, [], sender=keeper)

    got = staking.node(attacker.node_id).accrued_rewards
    honest_day = staking.node(honest).accrued_rewards - honest_before
    two_hours = stream * 2 * HOUR // DAY // 4  # four nodes shared those two hours
    # Its two hours (and the one second of the next stream), never the day.
    assert abs(got - two_hours) <= stream // DAY + staking.unstreamed() // DAY + 2
    assert got < honest_day * 2 * HOUR // DAY


def test_operator_rewards_never_decrease_and_every_stake_comes_back(
    staking, token, pool, chain, register, operator, delegator, second_delegator, keeper
):
    """Scenario 3: the operator's entitlement was the accrual minus the delegators'
    floors, which can go down by a unit: claimable underflowed, claims reverted and the
    operator's stake stayed locked for good. Each part is now a floor of its own."""
    node = register(operator, stake=QUARTER + 1, fee_bps=333)
    staking.contribute(node.node_id, QUARTER + 7, sender=delegator)
    staking.contribute(node.node_id, REQUIREMENT - 2 * QUARTER - 8, sender=second_delegator)
    chain.pending_timestamp = _boundary(pool, chain.pending_timestamp)
    staking.distribute(sender=keeper)
    accounts = (operator, delegator, second_delegator)
    seen = dict.fromkeys(accounts, 0)
    for step in range(12):
        chain.pending_timestamp += 1 + step * 7
        claimer = accounts[step % 3]
        staking.claim(node.node_id, sender=claimer)
        for account in accounts:
            entitled = (
                staking.contribution(node.node_id, account).claimed_rewards
                + staking.claimable(node.node_id, account)[0]
            )
            assert entitled >= seen[account]
            seen[account] = entitled
    staking.request_exit(node.node_id, sender=operator)
    chain.pending_timestamp = staking.node(node.node_id).unlock_time
    staking.finalize_exit(node.node_id, sender=keeper)
    for account in accounts:
        stake = staking.contribution(node.node_id, account).stake
        before = token.balanceOf(account)
        rewards = staking.claimable(node.node_id, account)[0]
        staking.claim(node.node_id, sender=account)
        assert token.balanceOf(account) == before + rewards + stake
    assert 0 <= kept_for(staking, node.node_id, accounts) < 3


def test_failing_node_cannot_fast_exit_before_the_network_had_time_to_see_it(
    staking, chain, register, operator, keeper, network, network_sign
):
    """Scenario 4: a failing node requested its exit and had it signed at once,
    escaping removal or liquidation. A fast exit now needs the network's signature made
    `MIN_EXIT_NOTICE` after the request (bridges refuse to sign for a node they see
    failing), and the network can still remove it meanwhile."""
    failing = network[0]
    chain.pending_timestamp += staking.MIN_EXIT_AGE()
    staking.request_exit(failing.node_id, sender=operator)
    requested = staking.node(failing.node_id).exit_requested_at
    keys = [n.keys for n in network]
    early = requested + staking.MIN_EXIT_NOTICE() - 1
    chain.pending_timestamp = early
    with ape.reverts("staking: exit notice not over"):
        staking.exit_with_signature(
            failing.node_id, early, network_sign("exit", failing.node_id, early, keys), [],
            sender=keeper,
        )  # fmt: skip
    now = early + 1
    chain.pending_timestamp = now
    signature = network_sign("remove", failing.node_id, now, keys)
    staking.remove_with_signature(failing.node_id, now, signature, [], sender=keeper)
    assert staking.node(failing.node_id).exit_reason == staking.EXIT_REMOVED()


def test_exit_with_signature__signed_exactly_at_the_notice__is_accepted(
    staking, chain, operator, keeper, network, network_sign
):
    node = network[0]
    chain.pending_timestamp += staking.MIN_EXIT_AGE()
    staking.request_exit(node.node_id, sender=operator)
    at = staking.node(node.node_id).exit_requested_at + staking.MIN_EXIT_NOTICE()
    chain.pending_timestamp = at
    signature = network_sign("exit", node.node_id, at, [n.keys for n in network])
    staking.exit_with_signature(node.node_id, at, signature, [], sender=keeper)
    assert staking.node(node.node_id).exit_reason == staking.EXIT_NETWORK()


def test_owner_changes_after_registration_do_not_reach_registered_nodes(
    staking, token, pool, chain, register, operator, delegator, keeper, deployer,
    network, network_sign,
):  # fmt: skip
    """Scenario 5: raising the liquidation penalty (or the exit delay) applied to nodes
    already staked. Both are now fixed at registration."""
    node = register(operator, stake=REQUIREMENT // 2)
    staking.contribute(node.node_id, REQUIREMENT // 2, sender=delegator)
    registered_penalty, registered_delay = staking.liquidation_penalty_bps(), staking.exit_delay()
    staking.set_liquidation_penalty_bps(1_000, sender=deployer)
    staking.set_exit_delay(90 * DAY, sender=deployer)
    assert staking.node(node.node_id).penalty_bps == registered_penalty
    chain.pending_timestamp += 1
    now = chain.pending_timestamp
    keys = [n.keys for n in network] + [node.keys]
    receipt = staking.liquidate_with_signature(
        node.node_id, now, network_sign("liquidate", node.node_id, now, keys), [], sender=keeper
    )
    [liquidated] = receipt.events.filter(staking.Liquidated)
    half = REQUIREMENT // 2
    assert liquidated.penalty == 2 * (half * registered_penalty // 10_000)
    assert staking.node(node.node_id).unlock_time == receipt.timestamp + registered_delay


def test_liquidation_locks_the_stakes_as_long_as_a_removal(
    staking, chain, register, operator, keeper, network, network_sign
):
    """Scenario 5: a removal locked the stakes for the exit delay while a liquidation,
    the harsher verdict, unlocked them at once."""
    keys = [n.keys for n in network]
    removed, liquidated = network[0].node_id, network[1].node_id
    chain.pending_timestamp += 1
    now = chain.pending_timestamp
    staking.remove_with_signature(
        removed, now, network_sign("remove", removed, now, keys), [], sender=keeper
    )
    chain.pending_timestamp = now + 1
    receipt = staking.liquidate_with_signature(
        liquidated, now + 1, network_sign("liquidate", liquidated, now + 1, keys[1:]), [],
        sender=keeper,
    )  # fmt: skip
    removal_lock = staking.node(removed).unlock_time - (now)
    liquidation_lock = staking.node(liquidated).unlock_time - receipt.timestamp
    assert liquidation_lock >= removal_lock == staking.exit_delay()
    assert staking.claimable(liquidated, operator)[1] == 0


def test_registration_the_network_refuses_to_serve_is_removed_at_once_without_penalty(
    staking, token, chain, operator, keeper, network, network_sign, node_keys
):
    """Scenario 2: a registration the bridges exclude (here a garbage Ed25519 signature,
    which the EVM cannot check) was Active on chain for good, earning and using up the
    non-signer allowance. The bridges now sign its removal at once (docs/protocol.md,
    "Refused registrations"); the contract accepts it like any removal: out of the
    aggregate key and the count at once, no penalty, the stake back after the delay."""
    keys = node_keys(4_242)
    pubkey, _, bls_key, pop = keys.registration_args(
        chain.chain_id, staking.address, operator.address
    )
    receipt = staking.register_node(
        pubkey, b"\x00" * 64, bls_key, pop, "203.0.113.9:1", 0, REQUIREMENT, [], sender=operator
    )
    refused = int(receipt.return_value)
    active_before = staking.active_nodes()
    chain.pending_timestamp += 10  # signed once the node is in the network
    now = chain.pending_timestamp
    # Only the serving nodes sign: the refused node is the one non-signer.
    signature = network_sign("remove", refused, now, [n.keys for n in network])
    staking.remove_with_signature(refused, now, signature, [refused], sender=keeper)
    info = staking.node(refused)
    assert info.exit_reason == staking.EXIT_REMOVED()
    assert staking.active_nodes() == active_before - 1
    chain.pending_timestamp = info.unlock_time
    chain.mine()
    assert staking.claimable(refused, operator)[1] == REQUIREMENT


def test_renounce_ownership__is_not_exported(staking):
    """Renouncing would leave registrations paused (or unpausable) for good."""
    assert not hasattr(staking, "renounce_ownership")
