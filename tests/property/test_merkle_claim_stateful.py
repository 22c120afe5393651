"""MerkleClaim against a model of the claim rules.

The rules: the snapshot's entries each pay once, to the address registered in them,
whoever submits the proof, and only after the contract was funded with exactly the
snapshot's total and before the deadline; an entry altered in any field, or proven with
another entry's path, pays nothing; from the deadline on, anyone may sweep what is left
to the address fixed at deployment, and only then.

After every step: the contract holds the total minus what was paid and swept (plus any
SESH sent to it directly); each holder holds the sum of its entries paid; the sweep
address holds what was swept; the bitmap says claimed for exactly the entries paid.
"""

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sesh.rules.merkle_claims import build_snapshot, old_account_hash

from .boa_helpers import deployer_for

ZERO = "0x" + "00" * 20
DAY = 86_400
HOLDERS = ["holder", "second_holder", "third_holder"]
OTHERS = ["keeper", "attacker"]
ROLES = ["funder", "reward_pool", *HOLDERS, *OTHERS]

submitters = st.sampled_from(HOLDERS + OTHERS)
tampering = st.sampled_from(
    [None, None, None, "index", "old_account", "claimant", "amount", "proof", "short_proof"]
)


class MerkleClaimMachine(RuleBasedStateMachine):
    @initialize(
        entries=st.lists(
            st.tuples(st.sampled_from(HOLDERS), st.integers(min_value=1, max_value=10**15)),
            min_size=1,
            max_size=24,
        ),
        window=st.integers(min_value=DAY, max_value=400 * DAY),
        fund_first=st.booleans(),
    )
    def deploy(self, entries, window, fund_first):
        self.addresses = {role: boa.env.generate_address(role) for role in ROLES}
        funder = self.addresses["funder"]
        with boa.env.prank(funder):
            self.sesh = deployer_for("SessionToken.vy").deploy(funder, ZERO, ZERO)
        # A holder may have several old addresses, each its own entry.
        rows = [
            (f"LOld{i}", self.addresses[holder], amount)
            for i, (holder, amount) in enumerate(entries)
        ]
        self.holder_of = [holder for holder, _ in entries]
        self.snapshot = build_snapshot(rows)
        self.deadline = boa.env.evm.patch.timestamp + window
        self.claim = deployer_for("MerkleClaim.vy").deploy(
            self.sesh.address,
            self.snapshot.root,
            self.snapshot.total,
            self.deadline,
            self.addresses["reward_pool"],
        )
        self.funded = False
        self.paid: set[int] = set()
        self.received = dict.fromkeys(ROLES, 0)
        self.swept = 0
        self.sent_directly = 0
        if fund_first:
            self.fund()

    @property
    def now(self):
        return boa.env.evm.patch.timestamp

    @rule()
    def fund(self):
        funder = self.addresses["funder"]
        with boa.env.prank(funder):
            self.sesh.approve(self.claim.address, self.snapshot.total)
            if self.funded or self.now >= self.deadline:
                with boa.reverts():
                    self.claim.fund()
                return
            self.claim.fund()
        self.funded = True

    @rule(data=st.data(), submitter=submitters, tamper=tampering)
    def submit_claim(self, data, submitter, tamper):
        index = data.draw(st.integers(min_value=0, max_value=len(self.snapshot.entries) - 1))
        entry = self.snapshot.entries[index]
        args = [
            entry.index,
            entry.old_account,
            entry.claimant,
            entry.amount,
            self.snapshot.proof(index),
        ]
        other = (index + 1) % len(self.snapshot.entries)
        if tamper == "index":
            args[0] = other if other != index else index + 1
        elif tamper == "old_account":
            args[1] = old_account_hash(entry.old_address + "x")
        elif tamper == "claimant":
            args[2] = self.addresses[
                submitter if submitter != self.holder_of[index] else "attacker"
            ]
        elif tamper == "amount":
            args[3] = entry.amount + data.draw(st.integers(min_value=1, max_value=10**15))
        elif tamper == "proof":
            if other == index:
                args[4] = [b"\x11" * 32]
            else:
                args[4] = self.snapshot.proof(other)
        elif tamper == "short_proof":
            args[4] = args[4][:-1] if args[4] else [b"\x22" * 32]
        genuine = tamper is None or (tamper == "proof" and args[4] == self.snapshot.proof(index))
        if not self.funded:
            reason = "claim: not funded"
        elif self.now >= self.deadline:
            reason = "claim: deadline passed"
        elif args[0] in self.paid:
            reason = "claim: already claimed"
        elif not genuine:
            reason = "claim: invalid proof"
        else:
            reason = None
        with boa.env.prank(self.addresses[submitter]):
            if reason:
                with boa.reverts(reason):
                    self.claim.claim(*args)
                return
            self.claim.claim(*args)
        self.paid.add(index)
        self.received[self.holder_of[index]] += entry.amount

    @rule(seconds=st.integers(min_value=1, max_value=60 * DAY))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule()
    def time_reaches_the_deadline(self):
        if self.now < self.deadline:
            boa.env.time_travel(seconds=self.deadline - self.now)

    @rule(submitter=submitters)
    def sweep(self, submitter):
        left = self.sesh.balanceOf(self.claim.address)
        with boa.env.prank(self.addresses[submitter]):
            if self.now < self.deadline:
                with boa.reverts("claim: deadline not reached"):
                    self.claim.sweep()
                return
            if left == 0:
                with boa.reverts("claim: nothing to sweep"):
                    self.claim.sweep()
                return
            self.claim.sweep()
        self.swept += left
        self.received["reward_pool"] += left

    @rule(amount=st.integers(min_value=1, max_value=10**9))
    def someone_sends_sesh_directly(self, amount):
        with boa.env.prank(self.addresses["funder"]):
            self.sesh.transfer(self.claim.address, amount)
        self.sent_directly += amount

    @invariant()
    def the_contract_holds_the_total_less_what_was_paid_and_swept(self):
        paid = sum(self.snapshot.entries[i].amount for i in self.paid)
        funded = self.snapshot.total if self.funded else 0
        expected = funded + self.sent_directly - paid - self.swept
        assert self.sesh.balanceOf(self.claim.address) == expected
        assert self.claim.total_claimed() == paid

    @invariant()
    def holders_and_the_pool_hold_what_they_were_paid(self):
        for role in [*HOLDERS, *OTHERS, "reward_pool"]:
            assert self.sesh.balanceOf(self.addresses[role]) == self.received[role]

    @invariant()
    def the_bitmap_marks_exactly_the_entries_paid(self):
        for entry in self.snapshot.entries:
            assert self.claim.is_claimed(entry.index) == (entry.index in self.paid)


TestMerkleClaim = MerkleClaimMachine.TestCase
# Under `audit`: 100 runs of 100 steps (each run a fresh deployment); under `ci` the
# profile's own counts.
_profile = settings()
TestMerkleClaim.settings = settings(
    _profile,
    max_examples=100 if _profile.max_examples >= 1_000 else _profile.max_examples,
)
