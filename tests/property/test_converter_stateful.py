"""TokenConverter against a model of the conversion rule.

The rule: a holder offering `a` old units at rate r = N/D SESH units per old unit gets
the most whole SESH units worth no more than what was offered (s = the largest integer
with s <= a·r), and gives up the fewest old units worth at least that (the smallest
integer k with k·r >= s); a conversion worth less than one SESH unit is refused, as is
one the converter's SESH cannot pay, or any while paused. The owner funds, pauses, and
takes unconverted SESH back only while paused.

After every step, every unit is accounted for: the converter holds exactly the old
units converted (plus any sent to it directly) and exactly the SESH funded, minus paid
and withdrawn (plus any sent directly); every actor holds what the model says; each
conversion paid no more than it took was worth, and less than one unit under it.
"""

from fractions import Fraction

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from .boa_helpers import deployer_for

ZERO = "0x" + "00" * 20
HOLDERS = ["holder", "second_holder", "attacker"]
ROLES = ["owner", *HOLDERS]
SESH_UNIT = 10**9

holders = st.sampled_from(HOLDERS)
roles = st.sampled_from(ROLES)
# (decimals of the old token, rate numerator, rate denominator): realistic rates
# between tokens of 6, 9 and 18 decimals, and awkward ones.
rates = st.one_of(
    st.sampled_from([(9, 1, 1), (18, 1, 10**9), (6, 1_000, 1), (9, 3, 7), (18, 1, 10**24)]),
    st.tuples(
        st.sampled_from([0, 6, 9, 18]),
        st.integers(min_value=1, max_value=10**24),
        st.integers(min_value=1, max_value=10**24),
    ),
)


def largest_payout(offered: int, rate: Fraction) -> int:
    """The most whole SESH units worth no more than `offered` old units."""
    return int(offered * rate)  # int() truncates toward zero: the floor of a non-negative


def fewest_taken(payout: int, rate: Fraction) -> int:
    """The fewest whole old units worth at least `payout` SESH units."""
    needed = Fraction(payout) / rate
    whole = int(needed)
    return whole if whole == needed else whole + 1


class ConverterMachine(RuleBasedStateMachine):
    @initialize(rate=rates, funding=st.integers(min_value=0, max_value=10**6 * SESH_UNIT))
    def deploy(self, rate, funding):
        decimals, numerator, denominator = rate
        self.rate = Fraction(numerator, denominator)
        self.addresses = {role: boa.env.generate_address(role) for role in ROLES}
        owner = self.addresses["owner"]
        with boa.env.prank(owner):
            self.sesh = deployer_for("SessionToken.vy").deploy(owner, ZERO, ZERO)
        self.old = deployer_for("mocks/MockLegacyToken.vy").deploy(decimals)
        with boa.env.prank(owner):
            self.converter = deployer_for("TokenConverter.vy").deploy(
                self.sesh.address, self.old.address, numerator, denominator
            )
            self.sesh.approve(self.converter.address, 2**256 - 1)
            if funding:
                self.converter.fund(funding)
        # The old token's supply the holders start with: from dust to a lot.
        old_unit = 10**decimals
        self.old_balances = {}
        for i, holder in enumerate(HOLDERS):
            amount = (i + 1) * 1_000_000 * old_unit + 7
            self.old.mint(self.addresses[holder], amount)
            with boa.env.prank(self.addresses[holder]):
                self.old.approve(self.converter.address, 2**256 - 1)
            self.old_balances[holder] = amount
        self.sesh_balances = dict.fromkeys(HOLDERS, 0)
        self.sesh_balances["owner"] = self.sesh.balanceOf(owner)
        self.paused = False
        self.funded = funding
        self.paid = 0
        self.withdrawn = 0
        self.converted_in = 0
        self.sent_directly_sesh = 0
        self.sent_directly_old = 0

    @property
    def converter_sesh(self) -> int:
        return self.funded + self.sent_directly_sesh - self.paid - self.withdrawn

    @rule(
        holder=holders,
        receiver=roles,
        offered=st.one_of(
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=0, max_value=10**25),
        ),
    )
    def convert(self, holder, receiver, offered):
        payout = largest_payout(offered, self.rate)
        taken = fewest_taken(payout, self.rate) if payout else 0
        reason = None
        if self.paused:
            reason = "pausable: contract is paused"
        elif payout == 0:
            reason = "converter: amount too small"
        elif payout > self.converter_sesh:
            reason = "converter: not enough SESH"
        elif taken > self.old_balances[holder]:
            reason = "erc20: transfer amount exceeds balance"
        with boa.env.prank(self.addresses[holder]):
            if reason:
                with boa.reverts(reason):
                    self.converter.convert(offered, self.addresses[receiver])
                return
            paid = self.converter.convert(offered, self.addresses[receiver])
        assert paid == payout
        # What was taken is worth the payout, one old unit less would not be, and the
        # payout is within a SESH unit of what was offered.
        assert taken * self.rate >= payout > (taken - 1) * self.rate
        assert payout <= offered * self.rate < payout + 1
        assert taken <= offered
        self.old_balances[holder] -= taken
        self.converted_in += taken
        self.paid += payout
        if receiver in self.sesh_balances:
            self.sesh_balances[receiver] += payout

    @rule(amount=st.integers(min_value=0, max_value=10**6 * SESH_UNIT))
    def fund(self, amount):
        with boa.env.prank(self.addresses["owner"]):
            if amount == 0:
                with boa.reverts("converter: zero amount"):
                    self.converter.fund(amount)
                return
            self.converter.fund(amount)
        self.funded += amount
        self.sesh_balances["owner"] -= amount

    @rule(who=roles, pause=st.booleans())
    def set_paused(self, who, pause):
        ok = who == "owner" and pause != self.paused
        with boa.env.prank(self.addresses[who]):
            call = self.converter.pause if pause else self.converter.unpause
            if not ok:
                with boa.reverts():
                    call()
                return
            call()
        self.paused = pause

    @rule(who=roles, amount=st.integers(min_value=0, max_value=2 * 10**6 * SESH_UNIT))
    def withdraw(self, who, amount):
        ok = who == "owner" and self.paused and 0 < amount <= self.converter_sesh
        with boa.env.prank(self.addresses[who]):
            if not ok:
                with boa.reverts():
                    self.converter.withdraw(amount)
                return
            self.converter.withdraw(amount)
        self.withdrawn += amount
        self.sesh_balances["owner"] += amount

    @rule(amount=st.integers(min_value=1, max_value=10**12), old=st.booleans())
    def someone_sends_tokens_directly(self, amount, old):
        if old:
            self.old.mint(self.converter.address, amount)
            self.sent_directly_old += amount
        else:
            with boa.env.prank(self.addresses["owner"]):
                self.sesh.transfer(self.converter.address, amount)
            self.sesh_balances["owner"] -= amount
            self.sent_directly_sesh += amount

    @invariant()
    def every_unit_is_accounted_for(self):
        assert self.old.balanceOf(self.converter.address) == (
            self.converted_in + self.sent_directly_old
        )
        assert self.sesh.balanceOf(self.converter.address) == self.converter_sesh
        assert self.converter.total_in() == self.converted_in
        assert self.converter.total_out() == self.paid
        assert self.converter.total_funded() == self.funded
        assert self.converter.total_withdrawn() == self.withdrawn

    @invariant()
    def actors_hold_what_the_model_says(self):
        for role, balance in self.sesh_balances.items():
            assert self.sesh.balanceOf(self.addresses[role]) == balance
        for holder, balance in self.old_balances.items():
            assert self.old.balanceOf(self.addresses[holder]) == balance

    @invariant()
    def nothing_paid_beyond_the_value_taken(self):
        assert self.paid <= self.converted_in * self.rate


TestConverter = ConverterMachine.TestCase
# Under `audit`: 100 runs of 100 steps (each run a fresh deployment); under `ci` the
# profile's own counts.
_profile = settings()
TestConverter.settings = settings(
    _profile,
    max_examples=100 if _profile.max_examples >= 1_000 else _profile.max_examples,
)
