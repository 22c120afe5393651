"""VestingStaking through VestingFactory: the schedule, release, revocation, beneficiary
and revoker hand-overs, and staking the locked SESH in the real ServiceNodeStaking."""

import boa
import pytest

from sesh.rules.economics import DAY
from sesh.rules.units import UNIT
from tests.property.boa_helpers import deployer_for
from tests.unit.migration_boa import ZERO, actor, now
from tests.unit.migration_staking import ENDPOINT, KEYS, REQUIREMENT, deploy_suite

YEAR = 365 * DAY
ALLOCATION = 100_000 * UNIT


@pytest.fixture
def genesis():
    return actor("genesis")


@pytest.fixture
def beneficiary():
    return actor("beneficiary")


@pytest.fixture
def revoker():
    return actor("revoker")


@pytest.fixture
def attacker():
    return actor("attacker")


@pytest.fixture
def suite(genesis):
    return deploy_suite(genesis)


@pytest.fixture
def vesting(suite, beneficiary, revoker):
    """A year's cliff in a four-year linear schedule starting now, revocable."""
    start = now()
    return suite.create_vesting(
        beneficiary, revoker, start, start + YEAR, start + 4 * YEAR, ALLOCATION
    )


def register(suite, vesting, beneficiary, key_index=0, stake=REQUIREMENT, fee_bps=0):
    args = suite.registration(KEYS[key_index], vesting.address)
    with boa.env.prank(beneficiary):
        return vesting.register_node(*args, ENDPOINT, fee_bps, stake, [])


# ------------------------------------------------------------------ factory


def test_create__funds_and_records_the_allocation(suite, vesting, beneficiary, revoker):
    assert suite.token.balanceOf(vesting.address) == ALLOCATION
    assert vesting.total_allocation() == ALLOCATION
    assert suite.factory.is_vesting(vesting.address)
    assert suite.factory.vesting_count() == 1 and suite.factory.vestings(0) == vesting.address
    assert vesting.beneficiary() == beneficiary and vesting.revoker() == revoker
    assert vesting.STAKING() == suite.staking.address
    assert vesting.STAKING_VIEWS() == suite.staking.address


@pytest.mark.parametrize(
    "offsets, reason",
    [
        ((10, 10, 10), "vesting: start not before end"),
        ((10, 5, 20), "vesting: cliff outside the schedule"),
        ((10, 21, 20), "vesting: cliff outside the schedule"),
        ((0, 0, 20 * YEAR + 1), "vesting: schedule too long"),
    ],
)
def test_create__a_bad_schedule__is_refused(suite, beneficiary, offsets, reason):
    start, cliff, end = (now() + x for x in offsets)
    with boa.reverts(reason):
        suite.create_vesting(beneficiary, ZERO, start, cliff, end, ALLOCATION)


def test_create__zero_amount_or_zero_beneficiary__is_refused(suite, beneficiary):
    t = now()
    with boa.reverts("vesting factory: zero amount"):
        suite.create_vesting(beneficiary, ZERO, t, t, t + YEAR, 0)
    with boa.reverts("vesting: beneficiary is the zero address"):
        suite.create_vesting(ZERO, ZERO, t, t, t + YEAR, 1)


def test_create__without_the_funders_sesh__is_refused(suite, beneficiary, attacker):
    t = now()
    with boa.reverts():
        suite.create_vesting(beneficiary, ZERO, t, t, t + YEAR, 1, funder=attacker)


# ----------------------------------------------------------------- schedule


def test_release__before_the_cliff__is_refused(vesting, beneficiary):
    boa.env.time_travel(seconds=YEAR - 1)
    assert vesting.vested() == 0
    with boa.env.prank(beneficiary), boa.reverts("vesting: nothing to release"):
        vesting.release()


def test_release__at_the_cliff__pays_the_first_year(suite, vesting, beneficiary):
    boa.env.time_travel(seconds=YEAR)
    with boa.env.prank(beneficiary):
        paid = vesting.release()
    assert paid == ALLOCATION // 4 == suite.token.balanceOf(beneficiary)


def test_release__linear_after_the_cliff__and_everything_at_the_end(suite, vesting, beneficiary):
    boa.env.time_travel(seconds=2 * YEAR)
    with boa.env.prank(beneficiary):
        vesting.release()
    assert suite.token.balanceOf(beneficiary) == ALLOCATION // 2
    boa.env.time_travel(seconds=2 * YEAR)
    with boa.env.prank(beneficiary):
        vesting.release()
    assert suite.token.balanceOf(beneficiary) == ALLOCATION
    assert suite.token.balanceOf(vesting.address) == 0


def test_release__by_anyone_else__is_refused(vesting, attacker, revoker):
    boa.env.time_travel(seconds=4 * YEAR)
    for someone in (attacker, revoker):
        with boa.env.prank(someone), boa.reverts("vesting: not the beneficiary"):
            vesting.release()


def test_release__of_an_allocation_started_in_the_past__pays_what_has_vested(suite, beneficiary):
    # Allocations migrated from the old chain may have begun vesting years ago.
    boa.env.time_travel(seconds=3 * YEAR)
    t = now()
    vesting = suite.create_vesting(
        beneficiary, ZERO, t - 3 * YEAR, t - 2 * YEAR, t + YEAR, ALLOCATION
    )
    with boa.env.prank(beneficiary):
        assert vesting.release() == ALLOCATION * 3 // 4


# --------------------------------------------------------------- revocation


def test_revoke__keeps_the_vested_part_for_the_beneficiary(suite, vesting, beneficiary, revoker):
    boa.env.time_travel(seconds=2 * YEAR)
    with boa.env.prank(revoker):
        vesting.revoke()
    assert suite.token.balanceOf(revoker) == ALLOCATION // 2
    assert vesting.vested_at_revocation() == ALLOCATION // 2
    boa.env.time_travel(seconds=5 * YEAR)
    with boa.env.prank(beneficiary):
        vesting.release()
    assert suite.token.balanceOf(beneficiary) == ALLOCATION // 2
    assert suite.token.balanceOf(vesting.address) == 0


def test_revoke__by_anyone_else__twice__after_the_end__or_irrevocable__is_refused(
    suite, vesting, beneficiary, attacker, revoker
):
    for someone in (attacker, beneficiary):
        with boa.env.prank(someone), boa.reverts("vesting: not the revoker"):
            vesting.revoke()
    with boa.env.prank(revoker):
        vesting.revoke()
        with boa.reverts("vesting: already revoked"):
            vesting.revoke()
    t = now()
    irrevocable = suite.create_vesting(beneficiary, ZERO, t, t, t + YEAR, ALLOCATION)
    with boa.env.prank(ZERO), boa.reverts("vesting: not the revoker"):
        irrevocable.revoke()
    late = suite.create_vesting(beneficiary, revoker, t, t, t + YEAR, ALLOCATION)
    boa.env.time_travel(seconds=YEAR)
    with boa.env.prank(revoker), boa.reverts("vesting: fully vested"):
        late.revoke()


def test_recover__before_revocation__is_refused(vesting, revoker):
    with boa.env.prank(revoker), boa.reverts("vesting: not revoked"):
        vesting.recover()


def test_transfer_beneficiary__when_transferable__moves_release_and_rewards(suite, beneficiary):
    t = now()
    vesting = suite.create_vesting(beneficiary, ZERO, t, t, t + YEAR, ALLOCATION, transferable=True)
    heir = actor("heir")
    with boa.env.prank(beneficiary):
        vesting.transfer_beneficiary(heir)
    boa.env.time_travel(seconds=YEAR)
    with boa.env.prank(beneficiary), boa.reverts("vesting: not the beneficiary"):
        vesting.release()
    with boa.env.prank(heir):
        vesting.release()
    assert suite.token.balanceOf(heir) == ALLOCATION


def test_transfer_beneficiary__when_not_transferable__is_refused(vesting, beneficiary):
    with boa.env.prank(beneficiary), boa.reverts("vesting: beneficiary not transferable"):
        vesting.transfer_beneficiary(actor("heir"))


def test_transfer_revoker__to_zero__makes_it_irrevocable(vesting, revoker, attacker):
    with boa.env.prank(attacker), boa.reverts("vesting: not the revoker"):
        vesting.transfer_revoker(attacker)
    with boa.env.prank(revoker):
        vesting.transfer_revoker(ZERO)
    with boa.env.prank(revoker), boa.reverts("vesting: not the revoker"):
        vesting.revoke()


# ------------------------------------------------------------------ staking


def test_register_node__stakes_the_locked_sesh_as_operator(suite, vesting, beneficiary):
    node_id = register(suite, vesting, beneficiary)
    node = suite.staking.node(node_id)
    assert node.operator == vesting.address and node.status == 2  # Active
    assert vesting.staked() == REQUIREMENT == vesting.stake_of(node_id)
    assert suite.token.balanceOf(vesting.address) == ALLOCATION - REQUIREMENT
    assert vesting.total_allocation() == ALLOCATION
    assert suite.token.allowance(vesting.address, suite.staking.address) == 0


def test_register_node__by_anyone_else__or_more_than_on_hand__is_refused(
    suite, vesting, beneficiary, attacker
):
    args = suite.registration(KEYS[0], vesting.address)
    with boa.env.prank(attacker), boa.reverts("vesting: not the beneficiary"):
        vesting.register_node(*args, ENDPOINT, 0, REQUIREMENT, [])
    with boa.env.prank(beneficiary), boa.reverts("vesting: not enough on hand"):
        vesting.register_node(*args, ENDPOINT, 0, ALLOCATION + 1, [])


def test_register_node__with_a_proof_for_the_beneficiary__is_refused(suite, vesting, beneficiary):
    # The proof of possession must name the vesting contract, the operator on chain.
    args = suite.registration(KEYS[0], beneficiary)
    with boa.env.prank(beneficiary), boa.reverts("staking: bad proof of possession"):
        vesting.register_node(*args, ENDPOINT, 0, REQUIREMENT, [])


def test_claim__pays_rewards_to_the_beneficiary__and_keeps_the_stake_out(
    suite, vesting, beneficiary
):
    node_id = register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=3 * DAY)
    with boa.env.prank(beneficiary):
        rewards, stake = vesting.claim(node_id)
    assert rewards > 0 and stake == 0
    assert suite.token.balanceOf(beneficiary) == rewards == vesting.rewards_paid()
    assert vesting.staked() == REQUIREMENT
    assert vesting.total_allocation() == ALLOCATION


def test_exit_and_claim__bring_the_stake_back_under_the_schedule(suite, vesting, beneficiary):
    node_id = register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=2 * DAY)
    with boa.env.prank(beneficiary):
        vesting.request_exit(node_id)
    boa.env.time_travel(seconds=suite.staking.exit_delay())
    suite.staking.finalize_exit(node_id)
    with boa.env.prank(beneficiary):
        rewards, stake = vesting.claim(node_id)
    assert stake == REQUIREMENT and rewards > 0
    assert vesting.staked() == 0 and vesting.stake_of(node_id) == 0
    assert suite.token.balanceOf(vesting.address) == ALLOCATION
    assert suite.token.balanceOf(beneficiary) == rewards


def test_contribute_and_withdraw__to_an_open_node(suite, vesting, beneficiary):
    operator = actor("operator")
    suite.fund(operator, REQUIREMENT)
    with boa.env.prank(operator):
        node_id = suite.staking.register_node(
            *suite.registration(KEYS[1], operator), ENDPOINT, 500, REQUIREMENT // 4, []
        )
    with boa.env.prank(beneficiary):
        vesting.contribute(node_id, REQUIREMENT // 4)
    assert vesting.stake_of(node_id) == REQUIREMENT // 4
    with boa.env.prank(beneficiary), boa.reverts("staking: withdrawal too early"):
        vesting.withdraw_contribution(node_id)
    boa.env.time_travel(seconds=DAY)
    with boa.env.prank(beneficiary):
        vesting.withdraw_contribution(node_id)
    assert vesting.staked() == 0
    assert suite.token.balanceOf(vesting.address) == ALLOCATION


def test_cancel_and_claim__an_open_node_it_operates(suite, vesting, beneficiary):
    node_id = register(suite, vesting, beneficiary, stake=REQUIREMENT // 2)
    with boa.env.prank(beneficiary):
        vesting.cancel_node(node_id)
        rewards, stake = vesting.claim(node_id)
    assert (rewards, stake) == (0, REQUIREMENT // 2)
    assert suite.token.balanceOf(vesting.address) == ALLOCATION


def test_set_endpoint__by_the_beneficiary_only(suite, vesting, beneficiary, attacker):
    node_id = register(suite, vesting, beneficiary)
    with boa.env.prank(beneficiary):
        vesting.set_endpoint(node_id, "198.51.100.1:22021")
    with boa.env.prank(attacker), boa.reverts("vesting: not the beneficiary"):
        vesting.set_endpoint(node_id, "198.51.100.1:22021")


def test_staking__by_anyone_else__is_refused(suite, vesting, beneficiary, attacker, revoker):
    node_id = register(suite, vesting, beneficiary)
    for call in (
        lambda: vesting.request_exit(node_id),
        lambda: vesting.claim(node_id),
        lambda: vesting.withdraw_contribution(node_id),
        lambda: vesting.cancel_node(node_id),
        lambda: vesting.contribute(node_id, 1),
    ):
        for someone in (attacker, revoker):
            with boa.env.prank(someone), boa.reverts("vesting: not the beneficiary"):
                call()


def test_release__is_limited_to_what_is_on_hand(suite, vesting, beneficiary):
    start = now()
    vesting = suite.create_vesting(beneficiary, ZERO, start, start, start + YEAR, 30_000 * UNIT)
    register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=YEAR)
    with boa.env.prank(beneficiary):
        assert vesting.release() == 5_000 * UNIT
        with boa.reverts("vesting: nothing to release"):
            vesting.release()


def test_revoke__while_staked__the_revoker_recovers_the_stake_only_after_it_unstakes(
    suite, vesting, beneficiary, revoker
):
    node_id = register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=2 * YEAR)  # half vested: 50,000 SESH the beneficiary's
    with boa.env.prank(revoker):
        vesting.revoke()
    # On hand: 75,000; the beneficiary is owed 50,000, so the revoker gets 25,000 now.
    assert suite.token.balanceOf(revoker) == 25_000 * UNIT
    with boa.env.prank(revoker), boa.reverts("vesting: nothing to recover"):
        vesting.recover()
    with boa.env.prank(beneficiary), boa.reverts("vesting: revoked"):
        vesting.register_node(*suite.registration(KEYS[2], vesting.address), ENDPOINT, 0, 1, [])
    # The revoker may drive the exit now; the rewards still go to the beneficiary.
    with boa.env.prank(revoker):
        vesting.request_exit(node_id)
    boa.env.time_travel(seconds=suite.staking.exit_delay())
    suite.staking.finalize_exit(node_id)
    with boa.env.prank(revoker):
        rewards, stake = vesting.claim(node_id)
    assert stake == REQUIREMENT
    with boa.env.prank(revoker):
        assert vesting.recover() == REQUIREMENT
    with boa.env.prank(beneficiary):
        assert vesting.release() == 50_000 * UNIT
    assert suite.token.balanceOf(revoker) == 50_000 * UNIT
    assert suite.token.balanceOf(beneficiary) == 50_000 * UNIT + rewards
    assert suite.token.balanceOf(vesting.address) == 0


def test_revoke__after_the_beneficiary_staked_its_vested_part__the_revoker_waits(
    suite, beneficiary, revoker
):
    # 30,000 SESH, linear over a year; at half-time 15,000 have vested and 25,000 are
    # staked: of the 5,000 on hand all are owed to the beneficiary, none to the revoker.
    t = now()
    vesting = suite.create_vesting(beneficiary, revoker, t, t, t + YEAR, 30_000 * UNIT)
    register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=YEAR // 2)
    with boa.env.prank(revoker):
        vesting.revoke()
    assert suite.token.balanceOf(revoker) == 0
    assert vesting.recoverable() == 0
    with boa.env.prank(beneficiary):
        assert vesting.release() == 5_000 * UNIT


def test_vesting_contract__is_a_blueprint_made_contract(suite, vesting):
    # Direct deployment is possible too; the factory's registry tells them apart.
    t = now()
    impostor = deployer_for("VestingStaking.vy").deploy(
        suite.token.address, suite.staking.address, suite.staking.address,
        actor("x"), ZERO, t, t, t + 1,
        False,
    )  # fmt: skip
    assert not suite.factory.is_vesting(impostor.address)
    assert suite.factory.is_vesting(vesting.address)


def test_liquidation__the_stake_comes_back_short__and_the_allocation_shrinks(
    suite, vesting, beneficiary
):
    from sesh.crypto import bls

    node_id = register(suite, vesting, beneficiary)
    boa.env.time_travel(seconds=DAY)
    timestamp = now()
    message = bls.liquidate_message(
        boa.env.evm.patch.chain_id, suite.staking.address, node_id, timestamp
    )
    signature = bls.sign(KEYS[0].bls, message).to_eip2537()  # the only node: all signers
    suite.staking.liquidate_with_signature(node_id, timestamp, signature, [])
    boa.env.time_travel(seconds=suite.staking.exit_delay())
    with boa.env.prank(beneficiary):
        _, stake = vesting.claim(node_id)
    penalty = REQUIREMENT * suite.staking.liquidation_penalty_bps() // 10_000
    assert stake == REQUIREMENT - penalty
    assert vesting.staked() == 0
    assert vesting.total_allocation() == ALLOCATION - penalty
    assert suite.token.balanceOf(vesting.address) == ALLOCATION - penalty
