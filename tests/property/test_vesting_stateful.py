"""VestingStaking (made by VestingFactory) staking in the real ServiceNodeStaking,
against a model of the vesting rules.

The rules: an allocation of A SESH vests nothing before the cliff, then A·(t − start) /
(end − start) (whole units, rounded down), all of A from the end on. The beneficiary may
take what has vested and is on hand, never more; the locked SESH may be staked (nodes
this contract operates, contributions to an operator's open node, withdrawn a day
later), and a node's stake comes back to the allocation when it is
claimed after the exit, while the node's rewards go straight to the beneficiary. A
revocation at time T fixes the beneficiary's share at what had vested by T; the revoker
gets the rest, but only from SESH on hand beyond what the beneficiary is still owed, so
staked SESH reaches the revoker only after it has come back. Nobody else gets anything.

After every step: the allocation is conserved (on hand + staked + released + recovered =
A); the beneficiary holds exactly what was released plus the rewards paid, and what was
released never exceeds what had vested by then (or by the revocation); the revoker holds
nothing before the revocation and never more than A less the beneficiary's share;
outsiders hold nothing.
"""

from fractions import Fraction

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sesh.rules.economics import DAY
from sesh.rules.units import UNIT
from tests.unit.migration_staking import ENDPOINT, KEYS, REQUIREMENT, deploy_suite

YEAR = 365 * DAY
MAX_NODES = 3
ROLES = ["beneficiary", "revoker", "attacker"]
callers = st.sampled_from(ROLES + ["beneficiary", "beneficiary"])

ACTIVE, EXITING, EXITED = "active", "exiting", "exited"


class VestingMachine(RuleBasedStateMachine):
    @initialize(
        allocation_sesh=st.integers(min_value=20_000, max_value=120_000),
        start_offset=st.integers(min_value=-2 * YEAR, max_value=YEAR // 2),
        cliff_part=st.sampled_from([Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(1)]),
        duration=st.integers(min_value=30 * DAY, max_value=3 * YEAR),
        revocable=st.booleans(),
    )
    def deploy(self, allocation_sesh, start_offset, cliff_part, duration, revocable):
        self.addresses = {role: boa.env.generate_address(role) for role in ROLES + ["genesis"]}
        self.suite = deploy_suite(self.addresses["genesis"])
        now = self.now
        self.start = max(0, now + start_offset)
        self.end = self.start + duration
        self.cliff = self.start + int(duration * cliff_part)
        self.allocation = allocation_sesh * UNIT + 123_456  # not a round figure
        self.revocable = revocable
        self.vesting = self.suite.create_vesting(
            self.addresses["beneficiary"],
            self.addresses["revoker"] if revocable else None,
            self.start,
            self.cliff,
            self.end,
            self.allocation,
        )
        self.on_hand = self.allocation
        self.nodes: dict[int, str] = {}
        self.released = 0
        self.recovered = 0
        self.rewards = 0
        self.revoked_at: int | None = None
        self.share_at_revocation = 0
        self.keys_used = 0
        # An operator's open node the allocation may contribute to: node id, and the
        # allocation's contribution (amount, when) while it is in.
        self.open_node: int | None = None
        self.contribution: tuple[int, int] | None = None
        operator = self.addresses["operator"] = boa.env.generate_address("operator")
        self.suite.fund(operator, REQUIREMENT)
        with boa.env.prank(operator):
            self.open_node = self.suite.staking.register_node(
                *self.suite.registration(KEYS[-1], operator), ENDPOINT, 500, REQUIREMENT // 4, []
            )

    # ----------------------------------------------------------------- the rule

    @property
    def now(self) -> int:
        return boa.env.evm.patch.timestamp

    def vested_by(self, t: int) -> int:
        if t < self.cliff:
            return 0
        if t >= self.end:
            return self.allocation
        return int(Fraction(self.allocation * (t - self.start), self.end - self.start))

    def beneficiary_share(self) -> int:
        if self.revoked_at is not None:
            return self.share_at_revocation
        return self.vested_by(self.now)

    def owed(self) -> int:
        return max(0, self.beneficiary_share() - self.released)

    @property
    def staked(self) -> int:
        solo = REQUIREMENT * sum(1 for status in self.nodes.values() if status != "returned")
        return solo + (self.contribution[0] if self.contribution else 0)

    def may_drive(self, caller: str) -> bool:
        return caller == "beneficiary" or (caller == "revoker" and self.revoked_at is not None)

    def call(self, caller, method, *args, reason=None):
        with boa.env.prank(self.addresses[caller]):
            if reason is not None:
                with boa.reverts(reason):
                    getattr(self.vesting, method)(*args)
                return None
            return getattr(self.vesting, method)(*args)

    # -------------------------------------------------------------------- rules

    @rule(seconds=st.integers(min_value=1, max_value=120 * DAY))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(caller=callers)
    def release(self, caller):
        amount = min(self.owed(), self.on_hand)
        if caller != "beneficiary":
            self.call(caller, "release", reason="vesting: not the beneficiary")
        elif amount == 0:
            self.call(caller, "release", reason="vesting: nothing to release")
        else:
            assert self.call(caller, "release") == amount
            self.released += amount
            self.on_hand -= amount

    @precondition(lambda self: self.keys_used < MAX_NODES)
    @rule(caller=callers)
    def register_node(self, caller):
        keys = KEYS[self.keys_used]
        args = (
            *self.suite.registration(keys, self.vesting.address),
            ENDPOINT,
            300,
            REQUIREMENT,
            [],
        )
        if caller != "beneficiary":
            self.call(caller, "register_node", *args, reason="vesting: not the beneficiary")
        elif self.revoked_at is not None:
            self.call(caller, "register_node", *args, reason="vesting: revoked")
        elif self.on_hand < REQUIREMENT:
            self.call(caller, "register_node", *args, reason="vesting: not enough on hand")
        else:
            node_id = self.call(caller, "register_node", *args)
            self.keys_used += 1
            self.nodes[node_id] = ACTIVE
            self.on_hand -= REQUIREMENT

    @rule(caller=callers, quarters=st.integers(min_value=1, max_value=2))
    def contribute_to_the_open_node(self, caller, quarters):
        amount = quarters * REQUIREMENT // 4
        args = (self.open_node, amount)
        if caller != "beneficiary":
            self.call(caller, "contribute", *args, reason="vesting: not the beneficiary")
        elif self.revoked_at is not None:
            self.call(caller, "contribute", *args, reason="vesting: revoked")
        elif self.on_hand < amount:
            self.call(caller, "contribute", *args, reason="vesting: not enough on hand")
        elif (
            self.contribution is not None and self.contribution[0] + amount >= 3 * REQUIREMENT // 4
        ):
            # The operator's quarter and ours would fill it: keep the node open (no top-up).
            return
        else:
            self.call(caller, "contribute", *args)
            held = self.contribution[0] if self.contribution else 0
            self.contribution = (held + amount, self.now)
            self.on_hand -= amount

    @rule(caller=callers)
    def withdraw_from_the_open_node(self, caller):
        node = self.open_node
        if not self.may_drive(caller):
            self.call(caller, "withdraw_contribution", node, reason="vesting: not the beneficiary")
        elif self.contribution is None:
            self.call(caller, "withdraw_contribution", node, reason="staking: nothing contributed")
        elif self.now < self.contribution[1] + DAY:
            self.call(caller, "withdraw_contribution", node, reason="staking: withdrawal too early")
        else:
            self.call(caller, "withdraw_contribution", node)
            self.on_hand += self.contribution[0]
            self.contribution = None

    @precondition(lambda self: self.nodes)
    @rule(data=st.data(), caller=callers)
    def request_exit(self, data, caller):
        node_id = data.draw(st.sampled_from(sorted(self.nodes)))
        if not self.may_drive(caller):
            self.call(caller, "request_exit", node_id, reason="vesting: not the beneficiary")
        elif self.nodes[node_id] != ACTIVE:
            self.call(caller, "request_exit", node_id, reason="staking: node not active")
        else:
            self.call(caller, "request_exit", node_id)
            self.nodes[node_id] = EXITING

    @precondition(lambda self: EXITING in self.nodes.values())
    @rule(data=st.data())
    def finalize_exit(self, data):
        node_id = data.draw(st.sampled_from([n for n, s in self.nodes.items() if s == EXITING]))
        unlock = self.suite.staking.node(node_id).unlock_time
        if self.now < unlock:
            boa.env.time_travel(seconds=unlock - self.now)
        self.suite.staking.finalize_exit(node_id)
        self.nodes[node_id] = EXITED

    @precondition(lambda self: self.nodes)
    @rule(data=st.data(), caller=callers)
    def claim(self, data, caller):
        node_id = data.draw(st.sampled_from(sorted(self.nodes)))
        if not self.may_drive(caller):
            self.call(caller, "claim", node_id, reason="vesting: not the beneficiary")
            return
        status = self.nodes[node_id]
        with boa.env.prank(self.addresses[caller]):
            try:
                rewards, stake = self.vesting.claim(node_id)
            except boa.BoaError as error:
                # Only a node with nothing accrued since the last claim may refuse.
                assert "staking: nothing to claim" in str(error)
                assert status != EXITED
                return
        # The stake comes back exactly once, in full, after the exit; rewards are paid out.
        assert stake == (REQUIREMENT if status == EXITED else 0)
        if status == EXITED:
            self.nodes[node_id] = "returned"
            self.on_hand += stake
        self.rewards += rewards

    @rule(caller=callers)
    def revoke(self, caller):
        if caller != "revoker" or not self.revocable:
            self.call(caller, "revoke", reason="vesting: not the revoker")
        elif self.revoked_at is not None:
            self.call(caller, "revoke", reason="vesting: already revoked")
        elif self.now >= self.end:
            self.call(caller, "revoke", reason="vesting: fully vested")
        else:
            self.call(caller, "revoke")
            self.revoked_at = self.now
            self.share_at_revocation = self.vested_by(self.now)
            paid = max(0, self.on_hand - self.owed())
            self.recovered += paid
            self.on_hand -= paid

    @rule(caller=callers)
    def recover(self, caller):
        if caller != "revoker" or not self.revocable:
            self.call(caller, "recover", reason="vesting: not the revoker")
        elif self.revoked_at is None:
            self.call(caller, "recover", reason="vesting: not revoked")
        else:
            amount = max(0, self.on_hand - self.owed())
            if amount == 0:
                self.call(caller, "recover", reason="vesting: nothing to recover")
            else:
                assert self.call(caller, "recover") == amount
                self.recovered += amount
                self.on_hand -= amount

    # --------------------------------------------------------------- invariants

    @invariant()
    def the_allocation_is_conserved(self):
        token = self.suite.token
        assert token.balanceOf(self.vesting.address) == self.on_hand
        assert self.vesting.staked() == self.staked
        assert self.on_hand + self.staked + self.released + self.recovered == self.allocation

    @invariant()
    def nothing_is_released_early(self):
        by = self.now if self.revoked_at is None else self.revoked_at
        assert self.released <= self.vested_by(by)
        token = self.suite.token
        assert token.balanceOf(self.addresses["beneficiary"]) == self.released + self.rewards

    @invariant()
    def the_revoker_gets_only_the_unvested_part(self):
        received = self.suite.token.balanceOf(self.addresses["revoker"])
        assert received == self.recovered
        if self.revoked_at is None:
            assert received == 0
        else:
            assert received <= self.allocation - self.share_at_revocation
            # Once nothing is staked, the revoker can have had all of it.
            if self.staked == 0 and self.vesting.recoverable() == 0:
                assert received == self.allocation - self.share_at_revocation

    @invariant()
    def outsiders_get_nothing(self):
        assert self.suite.token.balanceOf(self.addresses["attacker"]) == 0


TestVesting = VestingMachine.TestCase
# Each run deploys the whole staking economics and registers nodes with real BLS proofs
# (about 2 s a run): 10 runs under `ci`, 60 runs of 100 steps under `audit`.
_profile = settings()
TestVesting.settings = settings(
    _profile,
    stateful_step_count=max(_profile.stateful_step_count, 40),
    max_examples=60 if _profile.max_examples >= 1_000 else min(_profile.max_examples, 10),
)
