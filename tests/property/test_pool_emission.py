"""RewardRatePool emission: 14 % a year whatever the call pattern, against the model."""

import boa
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sesh.rules.economics import DAY, POOL_LAUNCH_BALANCE, releasable

from .boa_helpers import deployer_for

YEAR_DAYS = 365


def _deploy_pool(balance: int = POOL_LAUNCH_BALANCE):
    genesis = boa.env.generate_address("genesis")
    token = deployer_for("SessionToken.vy").deploy(genesis, "0x" + "00" * 20, "0x" + "00" * 20)
    with boa.env.prank(genesis):
        pool = deployer_for("RewardRatePool.vy").deploy(token.address)
        token.transfer(pool.address, balance)
    beneficiary = boa.env.generate_address("staking")
    with boa.env.prank(genesis):
        pool.set_beneficiary(beneficiary)
    return token, pool, beneficiary, genesis


def _release_at(pool, beneficiary, timestamp: int):
    boa.env.evm.patch.timestamp = timestamp
    with boa.env.prank(beneficiary):
        return pool.release()


# For each of the 50 years: the days within it (besides its last) on which a release
# happens, and the second of the day it happens at.
yearly_patterns = st.lists(
    st.lists(st.tuples(st.integers(1, YEAR_DAYS - 1), st.integers(0, DAY - 1)), max_size=12),
    min_size=50,
    max_size=50,
)


@settings(max_examples=10)
@given(pattern=yearly_patterns)
def test_fifty_years__any_release_pattern__pays_14_percent_of_the_balance_each_year(pattern):
    """Random release days (plus one at every year boundary) for 50 years: each year's
    payout is 14 % of the balance at its start, to a relative error below 1e-9."""
    token, pool, beneficiary, _ = _deploy_pool()
    start = pool.START()
    balance_at_year_start = [token.balanceOf(pool.address)]
    for year, releases in enumerate(pattern):
        # Calls land anywhere within their day: partial days must wait for the next call.
        for day, second in sorted(releases):
            _release_at(pool, beneficiary, start + (year * YEAR_DAYS + day) * DAY + second)
        _release_at(pool, beneficiary, start + (year + 1) * YEAR_DAYS * DAY)
        balance_at_year_start.append(token.balanceOf(pool.address))

    for year in range(50):
        begin, end = balance_at_year_start[year], balance_at_year_start[year + 1]
        emitted = (begin - end) / begin
        assert abs(emitted - 0.14) / 0.14 < 1e-9, (year, emitted)
    assert token.balanceOf(pool.address) + token.balanceOf(beneficiary) == POOL_LAUNCH_BALANCE


def test_fifty_years__regular_releases__match_the_model_to_the_unit():
    """Daily (weekly under the quick profile) releases for 50 years pay exactly what the
    model says, and leave 0.86**50 of the balance (the live contract paid 14.017 %/year)."""
    token, pool, beneficiary, _ = _deploy_pool()
    balance = POOL_LAUNCH_BALANCE
    paid = 0
    start = pool.START()
    step = 1 if _deep() else 7
    previous = 0
    for day in [*range(step, 50 * YEAR_DAYS, step), 50 * YEAR_DAYS]:
        expected = releasable(balance, day - previous)
        assert _release_at(pool, beneficiary, start + day * DAY) == expected
        previous = day
        balance -= expected
        paid += expected
    assert token.balanceOf(beneficiary) == paid == pool.total_released()
    assert token.balanceOf(pool.address) == balance
    assert abs(balance / POOL_LAUNCH_BALANCE - 0.86**50) < 1e-9


def _deep() -> bool:
    return settings().max_examples >= 1000


class PoolMachine(RuleBasedStateMachine):
    """Fees arrive, time passes, the beneficiary releases: the contract follows the model.
    The rule: a release pays for the whole days since the last one on what the pool held
    right after it (tokens arriving since earn from the next release on)."""

    @initialize()
    def deploy(self):
        self.token, self.pool, self.beneficiary, self.genesis = _deploy_pool()
        self.model_balance = POOL_LAUNCH_BALANCE
        self.model_earning = POOL_LAUNCH_BALANCE
        self.model_released_days = 0
        self.model_paid = 0

    @rule(seconds=st.one_of(st.integers(1, 2 * DAY), st.integers(DAY, 400 * DAY)))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(amount=st.integers(0, 10**16))
    def fee_arrives(self, amount):
        with boa.env.prank(self.genesis):
            self.token.transfer(self.pool.address, amount)
        self.model_balance += amount

    @rule()
    def release(self):
        today = (boa.env.evm.patch.timestamp - self.pool.START()) // DAY
        expected = releasable(self.model_earning, today - self.model_released_days)
        assert self.pool.preview_release() == expected
        with boa.env.prank(self.beneficiary):
            assert self.pool.release() == expected
        self.model_balance -= expected
        if today > self.model_released_days:
            self.model_earning = self.model_balance
        self.model_paid += expected
        self.model_released_days = today

    @rule(caller=st.sampled_from(["genesis", "attacker"]))
    def release_by_someone_else_is_refused(self, caller):
        address = self.genesis if caller == "genesis" else boa.env.generate_address("attacker")
        with boa.env.prank(address), boa.reverts("pool: caller is not the beneficiary"):
            self.pool.release()

    @invariant()
    def balances_match_the_model_and_sesh_is_conserved(self):
        pool_balance = self.token.balanceOf(self.pool.address)
        assert pool_balance == self.model_balance
        assert self.token.balanceOf(self.beneficiary) == self.model_paid
        assert self.pool.released_days() == self.model_released_days
        assert self.pool.total_released() == self.model_paid
        assert (
            pool_balance
            + self.token.balanceOf(self.beneficiary)
            + self.token.balanceOf(self.genesis)
            == self.token.totalSupply()
        )


TestPool = PoolMachine.TestCase
