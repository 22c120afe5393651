"""Session Pro against a Python model, with time travel and price moves.

The model keeps each key's timeline as the rule states it: the paid and granted
segments laid end to end in the order they were bought (a segment bought while the key
has no Pro starts now). Revoking a grant cuts what is left of its segment and moves
every later segment earlier by as much. The model never looks at how the contract
computes a revocation.

After every step: each key's expiry equals the end of the model's timeline; expiries
never moved backwards except by a revocation; every amount charged equals the model's
quote; SESH paid sits in the reward pool and stablecoins in the treasury (the Pro
contract keeps none)."""

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sesh.rules.prices import SEQUENCER_GRACE_PERIOD, USD
from sesh.rules.pro import MAX_DURATION, MIN_DURATION, plan_amount

from .boa_helpers import deployer_for

ZERO = "0x" + "00" * 20
ROLES = ["subscriber", "gifter", "attacker"]
ADDRESSES = {role: boa.env.generate_address(role) for role in ROLES}
GENESIS = boa.env.generate_address("genesis")
POOL = boa.env.generate_address("pool")
TREASURY = boa.env.generate_address("treasury")
PROVIDERS = [boa.env.generate_address("app_store"), boa.env.generate_address("card_processor")]
KEYS = [bytes([i + 1]) * 32 for i in range(2)]
RECEIPTS = [bytes([0xE0 + i]) * 32 for i in range(6)]
PLANS = {1: (30 * 86_400, 499 * USD // 100), 2: (365 * 86_400, 4999 * USD // 100)}
HEARTBEAT = 86_400
SESH_FUNDING = 10_000_000 * 10**9
STABLE_FUNDING = 1_000_000 * 10**6

roles = st.sampled_from(ROLES)
keys = st.sampled_from(KEYS)
receipts = st.sampled_from(RECEIPTS)
providers = st.sampled_from(PROVIDERS)
slack = st.sampled_from([0, 0, 0, -1, 10**6])


class Segment:
    """A stretch of a key's Pro: `[start, end)`, bought by a payment or a grant."""

    def __init__(self, start: int, end: int, receipt: tuple | None):
        self.start, self.end, self.receipt = start, end, receipt


class ProModel:
    def __init__(self, now):
        # key -> its segments in the order they were bought
        self.timelines: dict[bytes, list[Segment]] = {key: [] for key in KEYS}
        # (provider, receipt id) -> revoked?
        self.receipts: dict[tuple[str, bytes], bool] = {}
        self.answers = {"sesh": 2 * 10**7, "stable": USD}
        self.updated = {"sesh": now, "stable": now}
        self.spent = {(role, t): 0 for role in ROLES for t in ("sesh", "stable")}

    def expiry(self, key: bytes) -> int:
        timeline = self.timelines[key]
        return timeline[-1].end if timeline else 0

    def add(self, key: bytes, now: int, duration: int, receipt: tuple | None = None) -> int:
        start = max(now, self.expiry(key))
        self.timelines[key].append(Segment(start, start + duration, receipt))
        if receipt is not None:
            self.receipts[receipt] = False
        return self.expiry(key)

    def revoke(self, receipt: tuple, now: int) -> int:
        self.receipts[receipt] = True
        for key, timeline in self.timelines.items():
            for place, segment in enumerate(timeline):
                if segment.receipt == receipt:
                    left = max(segment.end - max(now, segment.start), 0)
                    segment.end -= left
                    for later in timeline[place + 1 :]:
                        later.start -= left
                        later.end -= left
                    return self.expiry(key)
        raise AssertionError("no such grant")


class ProMachine(RuleBasedStateMachine):
    @initialize()
    def deploy(self):
        now = boa.env.evm.patch.timestamp
        self.token = deployer_for("SessionToken.vy").deploy(GENESIS, ZERO, ZERO)
        self.stable = deployer_for("mocks/MockStablecoin.vy").deploy()
        aggregator = deployer_for("mocks/MockAggregator.vy")
        self.feeds = {
            "sesh": aggregator.deploy(8, 2 * 10**7, "SESH / USD"),
            "stable": aggregator.deploy(8, USD, "USDC / USD"),
        }
        self.sequencer = deployer_for("mocks/MockSequencerUptimeFeed.vy").deploy(
            now - 2 * SEQUENCER_GRACE_PERIOD
        )
        self.pro = deployer_for("SessionPro.vy").deploy(
            self.token.address,
            POOL,
            TREASURY,
            self.feeds["sesh"].address,
            HEARTBEAT,
            self.sequencer.address,
        )
        self.pro.set_pay_token(self.stable.address, self.feeds["stable"].address, HEARTBEAT)
        for provider in PROVIDERS:
            self.pro.set_payment_provider(provider, True)
        for plan_id, (duration, usd_price) in PLANS.items():
            self.pro.set_plan(plan_id, duration, usd_price)
        self.tokens = {"sesh": self.token, "stable": self.stable}
        for address in ADDRESSES.values():
            with boa.env.prank(GENESIS):
                self.token.transfer(address, SESH_FUNDING)
            self.stable.mint(address, STABLE_FUNDING)
            with boa.env.prank(address):
                self.token.approve(self.pro.address, 2**256 - 1)
                self.stable.approve(self.pro.address, 2**256 - 1)
        self.model = ProModel(now)
        self.seen = dict.fromkeys(KEYS, 0)
        self.revoking = False

    def now(self):
        return boa.env.evm.patch.timestamp

    @rule(
        payer=roles,
        key=keys,
        plan_id=st.sampled_from([1, 2, 3]),
        which=st.sampled_from(["sesh", "stable"]),
        extra=slack,
    )
    def subscribe(self, payer, key, plan_id, which, extra):
        now = self.now()
        decimals = 9 if which == "sesh" else 6
        fresh = now - self.model.updated[which] <= HEARTBEAT
        known = plan_id in PLANS
        amount = (
            plan_amount(PLANS[plan_id][1], self.model.answers[which], 8, decimals) if known else 0
        )
        max_amount = max(amount + extra, 0)
        ok = known and fresh and max_amount >= amount
        token = self.tokens[which]
        with boa.env.prank(ADDRESSES[payer]):
            if not ok:
                with boa.reverts():
                    self.pro.subscribe(key, plan_id, token.address, max_amount)
                return
            before = token.balanceOf(ADDRESSES[payer])
            expiry = self.pro.subscribe(key, plan_id, token.address, max_amount)
        assert before - token.balanceOf(ADDRESSES[payer]) == amount
        assert expiry == self.model.add(key, now, PLANS[plan_id][0])
        self.model.spent[(payer, which)] += amount

    @rule(
        key=keys,
        duration=st.sampled_from([MIN_DURATION - 1, MIN_DURATION, 30 * 86_400, MAX_DURATION]),
        receipt=receipts,
        provider=providers,
    )
    def grant(self, key, duration, receipt, provider):
        ok = (provider, receipt) not in self.model.receipts
        ok = ok and MIN_DURATION <= duration <= MAX_DURATION
        with boa.env.prank(provider):
            if not ok:
                with boa.reverts():
                    self.pro.grant(key, duration, receipt)
                return
            expiry = self.pro.grant(key, duration, receipt)
        assert expiry == self.model.add(key, self.now(), duration, (provider, receipt))

    @rule(receipt=receipts, provider=providers, by_owner=st.booleans())
    def revoke(self, receipt, provider, by_owner):
        caller = boa.env.eoa if by_owner else provider
        with boa.env.prank(caller):
            if self.model.receipts.get((provider, receipt), True):
                with boa.reverts():
                    self.pro.revoke(provider, receipt)
                return
            expiry = self.pro.revoke(provider, receipt)
        assert expiry == self.model.revoke((provider, receipt), self.now())
        self.revoking = True

    @rule(receipt=receipts, provider=providers, caller=st.sampled_from(ROLES + ["provider"]))
    def only_the_granting_provider_or_the_owner_revokes(self, receipt, provider, caller):
        other = next(p for p in PROVIDERS if p != provider)
        sender = other if caller == "provider" else ADDRESSES[caller]
        reason = "pro: caller is neither the granting provider nor the owner"
        with boa.env.prank(sender), boa.reverts(reason):
            self.pro.revoke(provider, receipt)

    @rule(payer=roles, key=keys)
    def attacker_cannot_grant(self, payer, key):
        with boa.env.prank(ADDRESSES[payer]), boa.reverts():
            self.pro.grant(key, MIN_DURATION, b"\xaa" * 32)

    @rule(
        seconds=st.one_of(
            st.integers(min_value=1, max_value=86_400),
            st.integers(min_value=1, max_value=60 * 86_400),
        ),
        refresh=st.booleans(),
    )
    def time_passes(self, seconds, refresh):
        boa.env.time_travel(seconds=seconds)
        self.sequencer.set_status(False, self.now() - 2 * SEQUENCER_GRACE_PERIOD)
        if refresh:
            for which, feed in self.feeds.items():
                feed.set_answer(self.model.answers[which])
                self.model.updated[which] = self.now()

    @rule(which=st.sampled_from(["sesh", "stable"]), answer=st.integers(10**6, 10**9))
    def price_moves(self, which, answer):
        self.feeds[which].set_answer(answer)
        self.model.answers[which] = answer
        self.model.updated[which] = self.now()

    @invariant()
    def expiries_match_the_model_and_only_revocations_move_them_back(self):
        for key in KEYS:
            expiry = self.pro.pro_expiry(key)
            assert expiry == self.model.expiry(key)
            if not self.revoking:
                assert expiry >= self.seen[key]
            self.seen[key] = expiry
            assert self.pro.is_pro(key) == (self.now() < expiry)
        self.revoking = False

    @invariant()
    def payments_reach_the_pool_and_the_treasury(self):
        sesh_paid = sum(v for (_, t), v in self.model.spent.items() if t == "sesh")
        stable_paid = sum(v for (_, t), v in self.model.spent.items() if t == "stable")
        assert self.token.balanceOf(POOL) == sesh_paid
        assert self.stable.balanceOf(TREASURY) == stable_paid
        assert self.token.balanceOf(TREASURY) == 0 and self.stable.balanceOf(POOL) == 0
        assert self.token.balanceOf(self.pro.address) == 0
        assert self.stable.balanceOf(self.pro.address) == 0
        for role, address in ADDRESSES.items():
            assert self.token.balanceOf(address) == SESH_FUNDING - self.model.spent[(role, "sesh")]
            assert (
                self.stable.balanceOf(address)
                == STABLE_FUNDING - self.model.spent[(role, "stable")]
            )


TestPro = ProMachine.TestCase
