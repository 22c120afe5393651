"""RewardRatePool: daily releases of 14 % a year to the one beneficiary."""

import ape
import pytest

from sesh.rules.economics import DAILY_FACTOR, DAY, ONE, POOL_LAUNCH_BALANCE, pow_up, releasable

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _to_day(chain, pool, day: int, offset: int = 0):
    """Set the next block's time to `offset` seconds into day `day` of the pool."""
    chain.pending_timestamp = pool.START() + day * DAY + offset


def test_deploy__starts_counting_days_at_deployment(pool, token, chain):
    assert pool.TOKEN() == token
    assert pool.START() <= chain.blocks.head.timestamp
    assert pool.released_days() == 0
    assert pool.beneficiary() == ZERO_ADDRESS


def test_deploy__with_the_zero_token__is_refused(project, deployer):
    with ape.reverts("pool: token is the zero address"):
        deployer.deploy(project.RewardRatePool, ZERO_ADDRESS)


def test_daily_factor__is_0_86_to_the_365th_root_to_36_decimals(pool):
    from sesh.rules.economics import daily_factor_fixed_point

    assert pool.DAILY_FACTOR() == DAILY_FACTOR == daily_factor_fixed_point()
    assert pool.ONE() == ONE


def test_set_beneficiary__fixes_it_once(pool, beneficiary, deployer):
    receipt = pool.set_beneficiary(beneficiary, sender=deployer)
    assert pool.beneficiary() == beneficiary
    assert receipt.events == [pool.BeneficiarySet(beneficiary)]
    with ape.reverts("pool: beneficiary already set"):
        pool.set_beneficiary(deployer, sender=deployer)
    assert pool.beneficiary() == beneficiary


def test_set_beneficiary__by_a_non_owner__is_refused(pool, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        pool.set_beneficiary(attacker, sender=attacker)


def test_set_beneficiary__to_the_zero_address__is_refused(pool, deployer):
    with ape.reverts("pool: beneficiary is the zero address"):
        pool.set_beneficiary(ZERO_ADDRESS, sender=deployer)


def test_release__by_anyone_but_the_beneficiary__is_refused(wired_pool, chain, attacker, deployer):
    _to_day(chain, wired_pool, 3)
    for caller in (attacker, deployer):
        with ape.reverts("pool: caller is not the beneficiary"):
            wired_pool.release(sender=caller)
    assert wired_pool.released_days() == 0


def test_release__before_a_beneficiary_is_set__is_refused(pool, chain, attacker):
    _to_day(chain, pool, 1)
    with ape.reverts("pool: caller is not the beneficiary"):
        pool.release(sender=attacker)


def test_release__within_the_first_day__pays_nothing(wired_pool, token, beneficiary, chain):
    _to_day(chain, wired_pool, 0, DAY - 5)
    wired_pool.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == 0
    assert wired_pool.released_days() == 0


def test_release__after_one_day__pays_balance_times_one_minus_f(
    wired_pool, token, beneficiary, chain
):
    _to_day(chain, wired_pool, 1)
    receipt = wired_pool.release(sender=beneficiary)
    expected = POOL_LAUNCH_BALANCE * (ONE - DAILY_FACTOR) // ONE
    assert expected == releasable(POOL_LAUNCH_BALANCE, 1)
    assert token.balanceOf(beneficiary) == expected
    assert token.balanceOf(wired_pool) == POOL_LAUNCH_BALANCE - expected
    assert receipt.events.filter(wired_pool.Released) == [
        wired_pool.Released(beneficiary, expected, 1, POOL_LAUNCH_BALANCE - expected)
    ]
    assert receipt.return_value == expected


def test_release__partial_days_wait_for_the_next_call(wired_pool, token, beneficiary, chain):
    _to_day(chain, wired_pool, 2, DAY - 1)
    wired_pool.release(sender=beneficiary)
    assert wired_pool.released_days() == 2
    paid = token.balanceOf(beneficiary)
    _to_day(chain, wired_pool, 3, 1)
    wired_pool.release(sender=beneficiary)
    assert wired_pool.released_days() == 3
    assert token.balanceOf(beneficiary) - paid == releasable(POOL_LAUNCH_BALANCE - paid, 1)


def test_release__twice_in_a_day__pays_once(wired_pool, token, beneficiary, chain):
    _to_day(chain, wired_pool, 5)
    wired_pool.release(sender=beneficiary)
    paid = token.balanceOf(beneficiary)
    chain.pending_timestamp += 60
    wired_pool.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == paid


def test_release__after_a_year_in_one_call__pays_exactly_14_percent(
    wired_pool, token, beneficiary, chain
):
    _to_day(chain, wired_pool, 365)
    wired_pool.release(sender=beneficiary)
    paid = token.balanceOf(beneficiary)
    assert paid == releasable(POOL_LAUNCH_BALANCE, 365)
    assert abs(paid / POOL_LAUNCH_BALANCE - 0.14) < 1e-12


def test_release__fees_sent_in__grow_the_releases_after_the_next(
    wired_pool, token, beneficiary, deployer, chain
):
    fees = 1_000_000 * 10**9
    token.transfer(wired_pool, fees, sender=deployer)
    _to_day(chain, wired_pool, 1)
    wired_pool.release(sender=beneficiary)
    first = token.balanceOf(beneficiary)
    # Fees earn from the release after they arrived: never for days before it.
    assert first == releasable(POOL_LAUNCH_BALANCE, 1)
    assert wired_pool.earning_balance() == POOL_LAUNCH_BALANCE + fees - first
    _to_day(chain, wired_pool, 2)
    wired_pool.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) - first == releasable(POOL_LAUNCH_BALANCE + fees - first, 1)


def test_pool_funded_60_days_late__first_release_pays_one_day_not_59(
    project, token, deployer, beneficiary, chain
):
    """Scenario 7 of issue #15: days were counted from deployment, so a pool funded 60
    days after it paid 59 days' worth at once. Tokens now earn from the release after
    they arrive (or from `set_beneficiary`, whichever is later)."""
    late = deployer.deploy(project.RewardRatePool, token)
    late.set_beneficiary(beneficiary, sender=deployer)
    chain.pending_timestamp = late.START() + 60 * DAY + 5
    token.transfer(late, POOL_LAUNCH_BALANCE, sender=deployer)
    late.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == 0
    assert late.earning_balance() == POOL_LAUNCH_BALANCE
    chain.pending_timestamp = late.START() + 61 * DAY
    late.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == releasable(POOL_LAUNCH_BALANCE, 1)


def test_set_beneficiary__late__pays_nothing_for_the_days_before_it(
    project, token, deployer, beneficiary, chain
):
    pool = deployer.deploy(project.RewardRatePool, token)
    token.transfer(pool, POOL_LAUNCH_BALANCE, sender=deployer)
    chain.pending_timestamp = pool.START() + 30 * DAY
    pool.set_beneficiary(beneficiary, sender=deployer)
    assert pool.released_days() == 30
    chain.pending_timestamp = pool.START() + 31 * DAY
    pool.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == releasable(POOL_LAUNCH_BALANCE, 1)


def test_renounce_ownership__is_not_exported(wired_pool):
    assert not hasattr(wired_pool, "renounce_ownership")


@pytest.mark.parametrize("days", [1, 7, 364, 365, 3650])
def test_preview_release__equals_what_release_pays(wired_pool, token, beneficiary, chain, days):
    _to_day(chain, wired_pool, days)
    chain.mine()
    preview = wired_pool.preview_release()
    assert wired_pool.pending_days() == days
    wired_pool.release(sender=beneficiary)
    assert token.balanceOf(beneficiary) == preview == releasable(POOL_LAUNCH_BALANCE, days)
    assert wired_pool.preview_release() == 0


def test_retained_fraction__matches_the_reference_model(pool):
    for days in (0, 1, 2, 365, 1000, 18250):
        assert pool.retained_fraction(days) == pow_up(DAILY_FACTOR, days)


def test_release__of_an_empty_pool__pays_nothing_and_advances_the_day(
    project, token, deployer, beneficiary, chain
):
    empty = deployer.deploy(project.RewardRatePool, token)
    empty.set_beneficiary(beneficiary, sender=deployer)
    chain.pending_timestamp = empty.START() + 2 * DAY
    empty.release(sender=beneficiary)
    assert empty.released_days() == 2
    assert token.balanceOf(beneficiary) == 0
