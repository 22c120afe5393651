"""Owner setters (bounded, logged) and the pause, which stops only registrations."""

import ape
import pytest

from .conftest import REQUIREMENT

DAY = 86400


@pytest.mark.parametrize(
    "setter, value, getter, event",
    [
        (
            "set_staking_requirement",
            50_000 * 10**9,
            "staking_requirement",
            "StakingRequirementUpdated",
        ),
        ("set_exit_delay", 7 * DAY, "exit_delay", "ExitDelayUpdated"),
        (
            "set_liquidation_penalty_bps",
            150,
            "liquidation_penalty_bps",
            "LiquidationPenaltyUpdated",
        ),
    ],
)
def test_setter__by_the_owner__sets_and_logs(staking, deployer, setter, value, getter, event):
    receipt = getattr(staking, setter)(value, sender=deployer)
    assert getattr(staking, getter)() == value
    # Emitted by the extension's code at the staking address.
    logs = getattr(staking, event).from_receipt(receipt)
    assert len(logs) == 1 and list(logs[0].event_arguments.values()) == [value]


@pytest.mark.parametrize(
    "setter, value, reason",
    [
        ("set_staking_requirement", 999 * 10**9, "staking: invalid requirement"),
        ("set_staking_requirement", 1_000_001 * 10**9, "staking: invalid requirement"),
        ("set_exit_delay", DAY - 1, "staking: delay out of bounds"),
        ("set_exit_delay", 90 * DAY + 1, "staking: delay out of bounds"),
        ("set_liquidation_penalty_bps", 1_001, "staking: penalty out of bounds"),
    ],
)
def test_setter__out_of_bounds__is_refused(staking, deployer, setter, value, reason):
    with ape.reverts(reason):
        getattr(staking, setter)(value, sender=deployer)


@pytest.mark.parametrize(
    "setter, value",
    [
        ("set_staking_requirement", 30_000 * 10**9),
        ("set_exit_delay", 2 * DAY),
        ("set_liquidation_penalty_bps", 1),
    ],
)
def test_setter__by_a_non_owner__is_refused(staking, attacker, setter, value):
    with ape.reverts("ownable: caller is not the owner"):
        getattr(staking, setter)(value, sender=attacker)


def test_pause__by_a_non_owner__is_refused(staking, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        staking.pause(sender=attacker)


def test_new_requirement__applies_to_new_nodes_only(
    staking, register, operator, delegator, deployer
):
    before = register(operator, stake=REQUIREMENT // 2)
    staking.set_staking_requirement(40_000 * 10**9, sender=deployer)
    after = register(operator, stake=10_000 * 10**9)
    assert staking.node(before.node_id).requirement == REQUIREMENT
    assert staking.node(after.node_id).requirement == 40_000 * 10**9
    staking.contribute(before.node_id, REQUIREMENT // 2, sender=delegator)
    assert staking.node(before.node_id).status == staking.STATUS_ACTIVE()


def test_pause__never_stops_exits_withdrawals_or_claims(
    staking, token, chain, register, operator, delegator, keeper, deployer
):
    active = register(operator)
    open_node = register(operator, stake=REQUIREMENT // 4)
    staking.contribute(open_node.node_id, REQUIREMENT // 4, sender=delegator)
    staking.pause(sender=deployer)
    assert staking.paused()
    chain.pending_timestamp += 2 * DAY
    staking.withdraw_contribution(open_node.node_id, sender=delegator)
    staking.cancel_node(open_node.node_id, sender=operator)
    staking.claim(open_node.node_id, sender=operator)
    staking.request_exit(active.node_id, sender=operator)
    chain.pending_timestamp = staking.node(active.node_id).unlock_time
    staking.finalize_exit(active.node_id, sender=keeper)
    before = token.balanceOf(operator)
    staking.claim(active.node_id, sender=operator)
    assert token.balanceOf(operator) > before + REQUIREMENT - 1
