"""SNS against a Python model, with time travel and SESH price moves.

After every step: each name has exactly the owner the model says (one at a time), the
token count matches, expired names never resolve and live ones resolve as the model
says, every payment equals the model's price, and all SESH paid sits in the reward pool
(the names contract keeps none)."""

import os

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sesh.rules.names import (
    GRACE_PERIOD,
    MIN_COMMITMENT_AGE,
    MIN_DURATION,
    YEAR,
    commitment,
    cost_units,
    premium_usd,
    token_id,
)
from sesh.rules.prices import SEQUENCER_GRACE_PERIOD, USD
from sesh.rules.units import UNIT

from .boa_helpers import deployer_for

ZERO = "0x" + "00" * 20
ROLES = ["registrant", "buyer", "keeper", "attacker"]
ADDRESSES = {role: boa.env.generate_address(role) for role in ROLES}
GENESIS = boa.env.generate_address("genesis")
POOL = boa.env.generate_address("pool")
NAMES = ["abc", "alice", "bob-1", "carol-has-a-long-name"]
YEARLY_PRICES = [640 * USD, 160 * USD, 20 * USD, 5 * USD]
PREMIUM_START = 1_000 * USD
HEARTBEAT = 86_400
FUNDING = 20_000_000 * UNIT

roles = st.sampled_from(ROLES)
names = st.sampled_from(NAMES)
durations = st.sampled_from([MIN_DURATION - 1, MIN_DURATION, YEAR, 3 * YEAR])
slack = st.sampled_from([0, 0, 0, -1, 10**9])
prices = st.integers(min_value=10**6, max_value=10**9)  # 0.01 to 10 USD per SESH


class NameModel:
    def __init__(self, now):
        self.owner: dict[str, str | None] = dict.fromkeys(NAMES)
        self.expiry: dict[str, int] = dict.fromkeys(NAMES, 0)
        self.session_key: dict[str, bytes] = {}
        self.paid = dict.fromkeys(ROLES, 0)
        self.pool = 0
        self.answer = 2 * 10**7
        self.feed_updated = now
        # The answer the last registration (or the deployment) used: what a renewal
        # pays at while the feed cannot be used, so a dead oracle never stops renewals.
        self.last_good_answer = self.answer

    def available(self, name, now):
        return self.expiry[name] == 0 or now >= self.expiry[name] + GRACE_PERIOD

    def feed_ok(self, now):
        return now - self.feed_updated <= HEARTBEAT


class NamesMachine(RuleBasedStateMachine):
    @initialize()
    def deploy(self):
        now = boa.env.evm.patch.timestamp
        self.token = deployer_for("SessionToken.vy").deploy(GENESIS, ZERO, ZERO)
        self.feed = deployer_for("mocks/MockAggregator.vy").deploy(8, 2 * 10**7, "SESH / USD")
        self.sequencer = deployer_for("mocks/MockSequencerUptimeFeed.vy").deploy(
            now - 2 * SEQUENCER_GRACE_PERIOD
        )
        self.sns = deployer_for("SessionNameService.vy").deploy(
            self.token.address,
            POOL,
            self.feed.address,
            HEARTBEAT,
            self.sequencer.address,
            YEARLY_PRICES,
            PREMIUM_START,
        )
        for address in ADDRESSES.values():
            with boa.env.prank(GENESIS):
                self.token.transfer(address, FUNDING)
            with boa.env.prank(address):
                self.token.approve(self.sns.address, 2**256 - 1)
        self.model = NameModel(now)

    def now(self):
        return boa.env.evm.patch.timestamp

    def _payment_ok(self, now, duration, cost, max_cost):
        """What every payment needs: a long enough duration, a fresh price, max_cost."""
        return duration >= MIN_DURATION and self.model.feed_ok(now) and max_cost >= cost

    def _pay(self, payer, cost):
        self.model.paid[payer] += cost
        self.model.pool += cost

    @rule(payer=roles, owner=roles, name=names, duration=durations, extra=slack)
    def commit_and_register(self, payer, owner, name, duration, extra):
        secret = os.urandom(32)
        with boa.env.prank(ADDRESSES[payer]):
            self.sns.commit(commitment(name, ADDRESSES[owner], duration, ADDRESSES[payer], secret))
        boa.env.time_travel(seconds=MIN_COMMITMENT_AGE)
        now = self.now()
        premium = premium_usd(PREMIUM_START, self.model.expiry[name], now)
        cost = cost_units(name, duration, YEARLY_PRICES, self.model.answer, premium=premium)
        max_cost = max(cost + extra, 0)
        ok = self.model.available(name, now) and self._payment_ok(now, duration, cost, max_cost)
        with boa.env.prank(ADDRESSES[payer]):
            if not ok:
                with boa.reverts():
                    self.sns.register(name, ADDRESSES[owner], duration, secret, max_cost)
                return
            charged = self.sns.register(name, ADDRESSES[owner], duration, secret, max_cost)
        assert charged == cost
        self._pay(payer, cost)
        self.model.last_good_answer = self.model.answer
        self.model.owner[name] = owner
        self.model.expiry[name] = now + duration
        self.model.session_key.pop(name, None)

    @rule(attacker_name=names)
    def register_without_commitment_is_refused(self, attacker_name):
        with boa.env.prank(ADDRESSES["attacker"]), boa.reverts():
            self.sns.register(attacker_name, ADDRESSES["attacker"], YEAR, b"\x00" * 32, 2**255)

    @rule(payer=roles, name=names, duration=durations, extra=slack)
    def renew(self, payer, name, duration, extra):
        now = self.now()
        fresh = self.model.feed_ok(now)
        answer = self.model.answer if fresh else self.model.last_good_answer
        cost = cost_units(name, duration, YEARLY_PRICES, answer)
        max_cost = max(cost + extra, 0)
        ok = (
            self.model.owner[name] is not None
            and now < self.model.expiry[name] + GRACE_PERIOD
            and duration >= MIN_DURATION
            and max_cost >= cost
        )
        with boa.env.prank(ADDRESSES[payer]):
            if not ok:
                with boa.reverts():
                    self.sns.renew(name, duration, max_cost)
                return
            new_expiry = self.sns.renew(name, duration, max_cost)
        assert new_expiry == self.model.expiry[name] + duration
        self._pay(payer, cost)
        self.model.expiry[name] = new_expiry

    @rule(caller=roles, name=names, key=st.binary(min_size=32, max_size=32))
    def set_session_id(self, caller, name, key):
        ok = (
            self.model.owner[name] == caller
            and self.now() < self.model.expiry[name]
            and key != b"\x00" * 32
        )
        with boa.env.prank(ADDRESSES[caller]):
            if not ok:
                with boa.reverts():
                    self.sns.set_session_id(name, b"\x05" + key)
                return
            self.sns.set_session_id(name, b"\x05" + key)
        self.model.session_key[name] = key

    @rule(caller=roles, name=names, to=roles)
    def transfer(self, caller, name, to):
        owner = self.model.owner[name]
        ok = owner == caller and self.now() < self.model.expiry[name]
        tid = token_id(name)
        with boa.env.prank(ADDRESSES[caller]):
            if not ok:
                with boa.reverts():
                    self.sns.transferFrom(ADDRESSES[owner or caller], ADDRESSES[to], tid)
                return
            self.sns.transferFrom(ADDRESSES[caller], ADDRESSES[to], tid)
        if to != caller:
            self.model.session_key.pop(name, None)
        self.model.owner[name] = to

    @rule(seconds=st.integers(min_value=1, max_value=200 * 86_400), refresh=st.booleans())
    def time_passes(self, seconds, refresh):
        boa.env.time_travel(seconds=seconds)
        self.sequencer.set_status(False, self.now() - 2 * SEQUENCER_GRACE_PERIOD)
        if refresh:
            self.feed.set_answer(self.model.answer)
            self.model.feed_updated = self.now()

    @rule(answer=prices)
    def price_moves(self, answer):
        self.feed.set_answer(answer)
        self.model.answer = answer
        self.model.feed_updated = self.now()

    @precondition(lambda self: self.model.owner["alice"] is not None)
    @rule()
    def grace_ends(self):
        """Jump to just after alice's grace period: the premium window."""
        target = self.model.expiry["alice"] + GRACE_PERIOD + 3600
        if target > self.now():
            boa.env.time_travel(seconds=target - self.now())
            self.sequencer.set_status(False, self.now() - 2 * SEQUENCER_GRACE_PERIOD)

    @invariant()
    def each_name_has_the_models_single_owner(self):
        held = 0
        for name in NAMES:
            owner = self.model.owner[name]
            if owner is None:
                continue
            held += 1
            assert self.sns.ownerOf(token_id(name)) == ADDRESSES[owner]
            assert self.sns.expiry(name) == self.model.expiry[name]
        assert self.sns.totalSupply() == held
        assert sum(self.sns.balanceOf(a) for a in ADDRESSES.values()) == held

    @invariant()
    def expired_names_never_resolve(self):
        now = self.now()
        for name in NAMES:
            resolved = self.sns.resolve(name)
            if self.model.owner[name] is None or now >= self.model.expiry[name]:
                assert resolved == b""
            else:
                key = self.model.session_key.get(name)
                assert resolved == (b"\x05" + key if key else b"")

    @invariant()
    def all_payments_reach_the_pool(self):
        assert self.token.balanceOf(POOL) == self.model.pool
        assert self.token.balanceOf(self.sns.address) == 0
        for role, address in ADDRESSES.items():
            assert self.token.balanceOf(address) == FUNDING - self.model.paid[role]


TestNames = NamesMachine.TestCase
