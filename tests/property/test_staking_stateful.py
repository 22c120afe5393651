"""ServiceNodeStaking and RewardRatePool against the Python reference model.

Registrations (valid and invalid), contributions, withdrawals, cancellations, exits,
network-signed exits/removals/liquidations (valid, wrong tag, stale, too few signers,
signed before nodes that activated since — who must neither sign nor be listed),
distributions over random days (steps landing exactly on pool-day boundaries among
them), fees arriving at any time, a pool funded at launch, with about one unit a day, or
late, SESH sent straight to the staking contract and swept to the pool, claims and owner
changes, on titanoboa with the native EIP-2537 precompiles.
After every step:

- every unit is accounted for: the pool holds what the model says; the staking
  contract holds exactly the unclaimed stakes, each node's rewards not claimed (with
  its rounding dust), what is kept for the next release and what the current release
  has yet to pay, plus the stray SESH not swept yet; every actor holds what it was paid;
- each account's rewards from each node (claimed + claimable) are the model's exact
  figure (seconds in the network × the release's rate / active nodes, then fee and
  stake) within `reward_tolerance`, and never decrease; `claimable` never reverts;
  every stake is claimable exactly when and as much as the rules say;
- every node's status and stake, and the active count, equal the model's;
- the aggregate key equals the sum of the active nodes' keys.
"""

from __future__ import annotations

import copy
import json

import boa
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sesh.contracts import abis
from sesh.crypto import bls
from sesh.crypto.node_keys import NodeKeys
from sesh.rules.economics import DAY, POOL_LAUNCH_BALANCE
from sesh.rules.units import UNIT

from .boa_helpers import deploy_staking, deployer_for
from .staking_model import (
    ACTIVE,
    EXITING,
    OPEN,
    Refused,
    StakingModel,
    reward_tolerance,
)

REQUIREMENT = 25_000 * UNIT
QUARTER = REQUIREMENT // 4
ENDPOINT = "203.0.113.7:22021"
ZERO = "0x" + "00" * 20
OPERATORS = ["operator", "second_operator"]
DELEGATORS = ["delegator", "second_delegator", "third_delegator"]
OTHERS = ["keeper", "attacker"]
ACTORS = OPERATORS + DELEGATORS + OTHERS
FUNDING = 400_000 * UNIT
KEYS = [NodeKeys.from_seeds(bytes([i + 1]) * 32, (i + 7).to_bytes(32, "big")) for i in range(24)]
# About one unit a day: 2,420 × (1 − 0.86^(1/365)) ≈ 1.
TINY_POOL = 2_420
# Enough nodes for every interaction (a third of non-signers, delegations, exits), few
# enough that the invariants, which read every node after every step, stay fast.
MAX_NODES = 12
MESSAGES = {
    "exit": bls.exit_message,
    "remove": bls.remove_message,
    "liquidate": bls.liquidate_message,
}

_EXTENSION_ABI = boa.loads_abi(
    json.dumps(abis.shipped_abi("ServiceNodeStakingExtension")), name="ServiceNodeStakingExtension"
)

actors = st.sampled_from(ACTORS)
operators = st.sampled_from(OPERATORS)
contributors = st.sampled_from(OPERATORS + DELEGATORS)


class StakingMachine(RuleBasedStateMachine):
    @initialize(
        start=st.lists(st.sampled_from(["solo", "delegated", "reserved", "open"]), max_size=4),
        funding=st.sampled_from(["launch", "launch", "tiny", "late"]),
    )
    def deploy(self, start, funding):
        self.addresses = {name: boa.env.generate_address(name) for name in ACTORS + ["genesis"]}
        genesis = self.addresses["genesis"]
        with boa.env.prank(genesis):
            self.token = deployer_for("SessionToken.vy").deploy(genesis, ZERO, ZERO)
            self.pool = deployer_for("RewardRatePool.vy").deploy(self.token.address)
            verifier = deployer_for("BLSVerifier.vy").deploy()
            _extension, self.staking = deploy_staking(self.token, self.pool, verifier)
            # The owner's setters and `sweep`, called at the staking address as a wallet
            # with the extension's ABI does.
            self.extension = _EXTENSION_ABI.at(self.staking.address)
            funded = {"launch": POOL_LAUNCH_BALANCE, "tiny": TINY_POOL, "late": 0}[funding]
            self.token.transfer(self.pool.address, funded)
            self.pool.set_beneficiary(self.staking.address)
            for name in ACTORS:
                self.token.transfer(self.addresses[name], FUNDING)
        for name in ACTORS:
            with boa.env.prank(self.addresses[name]):
                self.token.approve(self.staking.address, 2**256 - 1)
        self.model = StakingModel(REQUIREMENT, funded, self.pool.START(), self.now)
        self.balances = dict.fromkeys(ACTORS, FUNDING)
        # State changes so far (the rounding tolerance grows with them), and the highest
        # rewards (claimed + claimable) seen for each (node, account).
        self.updates = 0
        self.entitled_seen: dict[tuple[int, str], int] = {}
        # Actors whose balance changed since the last check, and the active set the
        # aggregate key was last checked for.
        self.touched: set[str] = set(ACTORS)
        self.key_checked_for: tuple[int, ...] | None = None
        self.next_key = 0
        self.keys_of: dict[int, NodeKeys] = {}
        # Begin (usually) with a few nodes, so exits, rewards and votes come early.
        for i, kind in enumerate(start):
            operator = OPERATORS[i % 2]
            if kind == "solo":
                self.register(operator, "full", 1_000, [], True)
            elif kind == "open":
                self.register(operator, "quarter", 500, [], True)
            elif kind == "reserved":
                self.register(operator, "half", 2_000, [(DELEGATORS[0], QUARTER)], True)
                self._contribute(len(self.model.nodes), DELEGATORS[0], QUARTER)
                self._contribute(len(self.model.nodes), DELEGATORS[1], QUARTER)
            else:
                self.register(operator, "quarter", 1_500, [], True)
                node_id = len(self.model.nodes)
                self._contribute(node_id, DELEGATORS[i % 3], QUARTER + 12_345)
                self._contribute(
                    node_id, DELEGATORS[(i + 1) % 3], REQUIREMENT - 2 * QUARTER - 12_345
                )

    # ------------------------------------------------------------------ helpers

    @property
    def now(self) -> int:
        return boa.env.evm.patch.timestamp

    def _address(self, name):
        return self.addresses[name]

    def _sync_payouts(self):
        """Move what the model paid out since the last step into the actors' balances."""
        for account, amount in self.model.payouts.items():
            self.balances[account] += amount
        self.model.payouts.clear()

    def _run(self, name, action, call, label=None):
        """Apply `action` to the model; the contract call must succeed exactly when the
        model's does, and revert with the model's reason otherwise."""
        saved = copy.deepcopy((self.model, self.balances))
        try:
            result = action()
        except Refused as refused:
            # The contract's revert undoes everything, the distribution included.
            self.model, self.balances = saved
            event(f"{label}: refused ({refused.reason})")
            with boa.env.prank(self._address(name)), boa.reverts(refused.reason):
                call()
            return None
        event(f"{label}: done")
        with boa.env.prank(self._address(name)):
            call()
        self.updates += 1
        # Only the caller and those paid can have a new balance: check theirs now.
        self.touched |= {name, *self.model.payouts}
        self._sync_payouts()
        return result if result is not None else True

    def _node_ids(self):
        return sorted(self.model.nodes)

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: len(self.model.nodes) < MAX_NODES)
    @rule(
        operator=operators,
        stake=st.sampled_from(["full"] * 3 + ["quarter", "half"] * 3 + ["below_quarter", "above"]),
        fee_bps=st.sampled_from([0, 500, 1_000, 1_000, 10_000, 10_001]),
        reserved=st.one_of(
            st.just([]),
            st.lists(
                st.tuples(st.sampled_from(DELEGATORS), st.sampled_from([1, QUARTER // 2, QUARTER])),
                max_size=2,
                unique_by=lambda r: r[0],
            ),
            # Rarely, reservations the contract must refuse.
            st.lists(
                st.tuples(
                    st.sampled_from(DELEGATORS + OPERATORS), st.sampled_from([0, REQUIREMENT])
                ),
                min_size=1,
                max_size=3,
            ),
        ),
        valid_pop=st.sampled_from([True] * 9 + [False]),
    )
    def register(self, operator, stake, fee_bps, reserved, valid_pop):
        amount = {
            "full": REQUIREMENT,
            "quarter": QUARTER,
            "half": REQUIREMENT // 2,
            "below_quarter": QUARTER - 1,
            "above": REQUIREMENT + 1,
        }[stake]
        keys = KEYS[self.next_key % len(KEYS)]
        address = self._address(operator)
        args = keys.registration_args(boa.env.evm.patch.chain_id, self.staking.address, address)
        if not valid_pop:
            # A proof made for another operator: what a front-runner copying it would hold.
            other = self._address("attacker")
            args = args[:3] + (
                keys.proof_of_possession(boa.env.evm.patch.chain_id, self.staking.address, other),
            )
        reservations = [(self._address(a), x) for a, x in reserved]
        node_id = self.model_next_id = len(self.model.nodes) + 1

        def action():
            self.model.register(
                operator, fee_bps, amount, list(reserved), keys.bls_pubkey.to_eip2537(),
                valid_pop, self.now, node_id,
            )  # fmt: skip
            self.balances[operator] -= amount

        ok = self._run(
            operator,
            action,
            lambda: self.staking.register_node(*args, ENDPOINT, fee_bps, amount, reservations),
            "register",
        )
        if ok:
            self.keys_of[node_id] = keys
            self.next_key += 1

    def _contribute(self, node_id, account, amount):
        def action():
            self.model.contribute(node_id, account, amount, self.now)
            self.balances[account] -= amount

        self._run(account, action, lambda: self.staking.contribute(node_id, amount), "contribute")

    @precondition(lambda self: self.model.nodes)
    @rule(
        data=st.data(),
        account=contributors,
        size=st.sampled_from(["minimum", "rest", "rest", "one", "zero", "too_much", "reserved"]),
    )
    def contribute(self, data, account, size):
        open_ids = [i for i, n in self.model.nodes.items() if n.status == OPEN]
        node_id = data.draw(st.sampled_from(open_ids or self._node_ids()))
        node = self.model.nodes[node_id]
        public_left, slots = node.public_room() if node.status == OPEN else (0, 0)
        mine = node.contributions.get(account)
        amount = {
            "minimum": -(-public_left // slots) if slots else 1,
            "rest": node.requirement - node.total,
            "one": 1,
            "zero": 0,
            "too_much": node.requirement - node.total + 1,
            "reserved": mine.reserved if mine and mine.reserved else 1,
        }[size]
        self._contribute(node_id, account, amount)

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), account=contributors)
    def withdraw(self, data, account):
        node_id = data.draw(st.sampled_from(self._node_ids()))
        self._run(
            account,
            lambda: self.model.withdraw(node_id, account, self.now),
            lambda: self.staking.withdraw_contribution(node_id),
            "withdraw",
        )

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), caller=actors)
    def cancel(self, data, caller):
        node_id = data.draw(st.sampled_from(self._node_ids()))
        self._run(
            caller,
            lambda: self.model.cancel(node_id, caller, self.now),
            lambda: self.staking.cancel_node(node_id),
            "cancel",
        )

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), caller=actors)
    def request_exit(self, data, caller):
        node_id = data.draw(st.sampled_from(self._node_ids()))
        self._run(
            caller,
            lambda: self.model.request_exit(node_id, caller, self.now),
            lambda: self.staking.request_exit(node_id),
            "request_exit",
        )

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data())
    def finalize_exit(self, data):
        node_id = data.draw(st.sampled_from(self._node_ids()))
        self._run(
            "keeper",
            lambda: self.model.finalize_exit(node_id, self.now),
            lambda: self.staking.finalize_exit(node_id),
            "finalize_exit",
        )

    @precondition(lambda self: self.model.active)
    @rule(
        data=st.data(),
        kind=st.sampled_from(["exit", "remove", "liquidate"]),
        flaw=st.sampled_from(
            ["none", "none", "none", "wrong_tag", "stale", "future", "too_few", "unsorted",
             "late_signs", "late_listed"]
        ),
        silent=st.integers(0, 3),
        signed=st.sampled_from(["now", "now", "activation", "after_activation", "earlier"]),
    )  # fmt: skip
    def network_action(self, data, kind, flaw, silent, signed):
        node_id = data.draw(st.sampled_from(self._node_ids()))
        # When the network signed: just now, exactly at a node's activation (that node and
        # any activated with or after it are late), a second after one, or minutes ago.
        activations = sorted({n.activated_at for n in self.model.active})
        if signed in ("activation", "after_activation") and activations:
            at = data.draw(st.sampled_from(activations))
            timestamp = at if signed == "activation" else at + 1
        elif signed == "earlier":
            timestamp = self.now - data.draw(st.sampled_from([60, 599, 600]))
        else:
            timestamp = self.now - 5
        timestamp = min(max(timestamp, self.now - 600), self.now)
        timestamp = {"stale": self.now - 601, "future": self.now + 1}.get(flaw, timestamp)
        members = self.model.members_at(timestamp)
        active_ids = sorted(n.node_id for n in members)
        late_ids = sorted(n.node_id for n in self.model.active if n not in members)
        quota = len(active_ids) // 3
        count = min(silent, quota) if flaw != "too_few" else quota + 1
        non_signers = (
            sorted(data.draw(st.permutations(active_ids))[:count])
            if count <= len(active_ids)
            else active_ids
        )
        if flaw == "late_listed" and late_ids:
            non_signers = sorted([*non_signers, data.draw(st.sampled_from(late_ids))])
        listed = (
            list(reversed(non_signers))
            if flaw == "unsorted" and len(non_signers) > 1
            else non_signers
        )
        tag = (
            {"exit": "remove", "remove": "liquidate", "liquidate": "exit"}[kind]
            if flaw == "wrong_tag"
            else kind
        )
        message = MESSAGES[tag](
            boa.env.evm.patch.chain_id, self.staking.address, node_id, timestamp
        )
        signers = [self.keys_of[i] for i in active_ids if i not in non_signers]
        if flaw == "late_signs":
            # Nodes activated since sign too: their shares do not belong in the signature.
            signers += [self.keys_of[i] for i in late_ids]
        signature = (
            bls.aggregate_signatures([bls.sign(k.bls, message) for k in signers]).to_eip2537()
            if signers
            else b"\x00" * 256
        )
        valid = flaw != "wrong_tag" and bool(signers) and not (flaw == "late_signs" and late_ids)
        event(f"network: {len(late_ids)} late of {len(self.model.active)}")
        order = listed if flaw == "unsorted" else non_signers
        model_action = {
            "exit": lambda: self.model.network_exit(node_id, timestamp, order, valid, self.now),
            "remove": lambda: self.model.remove(node_id, timestamp, order, valid, self.now),
            "liquidate": lambda: self.model.liquidate(
                node_id, timestamp, order, valid, self.now, "keeper"
            ),
        }[kind]
        function = getattr(self.staking, f"{kind}_with_signature")
        self._run(
            "keeper", model_action, lambda: function(node_id, timestamp, signature, order), kind
        )

    def _claim_rewards(self, node_id, account):
        """The rewards a claim must pay now: the contract's figure, once checked against
        the model's exact one (claims round down, so the model cannot give the unit)."""
        if node_id not in self.model.nodes:
            assert tuple(self.staking.claimable(node_id, self._address(account))) == (0, 0)
            return 0
        rewards = self.staking.claimable(node_id, self._address(account))[0]
        if account in self.model.nodes[node_id].contributions:
            self._check_rewards(node_id, account, rewards)
        else:
            assert rewards == 0
        return rewards

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), account=actors)
    def claim(self, data, account):
        node_id = data.draw(st.sampled_from([*self._node_ids(), 999]))
        # Bring the rewards up to date first, so the figure read is the one claimed.
        self.distribute()
        rewards = self._claim_rewards(node_id, account)
        self._run(
            account,
            lambda: (
                self.model.claim(node_id, account, rewards, self.now)
                if node_id in self.model.nodes
                else self.model.require_unknown_claim()
            ),
            lambda: self.staking.claim(node_id),
            "claim",
        )

    @precondition(lambda self: self.model.nodes)
    @rule(account=actors)
    def claim_everything(self, account):
        node_ids = self._node_ids()
        self.distribute()
        owed = {node_id: self._claim_rewards(node_id, account) for node_id in node_ids}

        def action():
            total = 0
            for node_id in node_ids:
                stake = self.model.stake_claimable(node_id, account, self.now)
                if owed[node_id] or stake:
                    total += owed[node_id] + self.model.claim(
                        node_id, account, owed[node_id], self.now
                    )
            if not total:
                raise Refused("staking: nothing to claim")

        self._run(account, action, lambda: self.staking.claim_many(node_ids), "claim_many")

    @rule()
    def distribute(self):
        self._run(
            "keeper", lambda: self.model.distribute(self.now), self.staking.distribute, "distribute"
        )

    @rule(amount=st.sampled_from([1, 1_000, 50_000 * UNIT, POOL_LAUNCH_BALANCE // 100]))
    def fee_arrives(self, amount):
        """Fees, liquidations' share or (with a pool deployed empty) the late funding."""
        with boa.env.prank(self.addresses["genesis"]):
            self.token.transfer(self.pool.address, amount)
        self.model.fee_arrives(amount)

    @rule(amount=st.sampled_from([1, 7 * UNIT]))
    def stray_arrives(self, amount):
        """SESH sent straight to the staking contract (a mistaken transfer)."""
        with boa.env.prank(self.addresses["genesis"]):
            self.token.transfer(self.staking.address, amount)
        self.model.stray_arrives(amount)

    @rule(caller=actors)
    def sweep(self, caller):
        self._run(caller, self.model.sweep, self.extension.sweep, "sweep")

    @rule(seconds=st.sampled_from([1, 600, 3 * 3600, DAY, 2 * DAY + 7, 31 * DAY]))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(offset=st.sampled_from([0, 0, -1, 1, -2 * 3600]))
    def time_reaches_a_pool_day_boundary(self, offset):
        """To the next pool day's first second exactly (or just around it, or two hours
        before it: a node activated then serves two hours of that day)."""
        start = self.pool.START()
        boundary = start + ((self.now - start) // DAY + 1) * DAY + offset
        if boundary > self.now:
            boa.env.time_travel(seconds=boundary - self.now)

    @rule(
        change=st.sampled_from(
            [("exit_delay", 2 * DAY), ("exit_delay", 30 * DAY), ("penalty", 0),
             ("penalty", 1_000), ("requirement", 30_000 * UNIT), ("requirement", REQUIREMENT),
             ("pause", True), ("pause", False)]
        )
    )  # fmt: skip
    def owner_changes(self, change):
        what, value = change
        genesis = self.addresses["genesis"]
        with boa.env.prank(genesis):
            if what == "exit_delay":
                self.extension.set_exit_delay(value)
                self.model.exit_delay = value
            elif what == "penalty":
                self.extension.set_liquidation_penalty_bps(value)
                self.model.penalty_bps = value
            elif what == "requirement":
                self.extension.set_staking_requirement(value)
                self.model.requirement = value
            elif value != self.model.paused:
                (self.extension.pause if value else self.extension.unpause)()
                self.model.paused = value

    # --------------------------------------------------------------- invariants

    def _check_rewards(self, node_id, account, claimable_rewards):
        node = self.model.nodes[node_id]
        # What the contract paid so far (each claim checked against it when made).
        claimed = node.contributions[account].claimed_rewards
        entitled = claimed + claimable_rewards
        exact = self.model.entitlement(node, account, self.now)
        assert abs(entitled - exact) <= reward_tolerance(self.updates), (
            node_id,
            account,
            entitled,
            float(exact),
        )
        key = (node_id, account)
        assert entitled >= self.entitled_seen.get(key, 0), ("entitlement decreased", key)
        self.entitled_seen[key] = entitled

    # The checks read the contract as little as they can (each read runs the EVM): one
    # `node` and one `claimable` per contributor per node, balances only where they moved.

    @invariant()
    def nodes_rewards_and_every_unit_match_the_model(self):
        tolerance = reward_tolerance(self.updates)
        kept_for_nodes = 0
        stranger_node = self.updates % MAX_NODES + 1
        for node_id, node in self.model.nodes.items():
            info = self.staking.node(node_id)
            assert info.status == node.status, node_id
            assert info.total_stake == node.total, node_id
            if node.status not in (ACTIVE, EXITING, OPEN):
                assert info.exit_reason == node.reason
            exact = self.model.earned_now(node, self.now)
            assert abs(info.accrued_rewards - exact) <= tolerance, node_id
            kept_for_nodes += info.accrued_rewards
            for name, mine in node.contributions.items():
                rewards, stake = self.staking.claimable(node_id, self._address(name))
                assert stake == self.model.stake_claimable(node_id, name, self.now)
                self._check_rewards(node_id, name, rewards)
                kept_for_nodes -= mine.claimed_rewards
            if node_id == stranger_node:
                # A stranger (never a contributor) has nothing to claim.
                assert tuple(self.staking.claimable(node_id, self._address("attacker"))) == (0, 0)
        # Every unit accounted for.
        assert self.staking.active_nodes() == len(self.model.active)
        pool_balance = self.token.balanceOf(self.pool.address)
        staking_balance = self.token.balanceOf(self.staking.address)
        assert pool_balance == self.model.pool_balance
        assert staking_balance == (
            self.model.unclaimed_stakes()
            + kept_for_nodes
            + self.staking.undistributed()
            + self.staking.unstreamed()
            + self.model.stray
        )
        for name in self.touched:
            assert self.token.balanceOf(self._address(name)) == self.balances[name], name
        self.touched = set()
        held = (
            pool_balance
            + staking_balance
            + self.token.balanceOf(self.addresses["genesis"])
            + sum(self.balances.values())
        )
        assert held == self.token.totalSupply()

    @invariant()
    def aggregate_key_is_the_sum_of_active_keys(self):
        active_ids = tuple(n.node_id for n in self.model.active)
        if active_ids == self.key_checked_for:
            return
        self.key_checked_for = active_ids
        active = [self.keys_of[i].bls_pubkey for i in active_ids]
        expected = bls.aggregate_public_keys(active).to_eip2537() if active else b"\x00" * 128
        assert self.staking.aggregate_pubkey() == expected


TestStaking = StakingMachine.TestCase
# Exits take 30 days and network votes need active nodes: give each run room to get there.
# Under the audit profile: 60 runs of 100 steps (over the 5,000 steps the audit asks
# for, in about 7 minutes on one core: see bench/results/staking_stateful.json).
_profile = settings()
TestStaking.settings = settings(
    _profile,
    stateful_step_count=max(_profile.stateful_step_count, 50),
    max_examples=60 if _profile.max_examples >= 1_000 else _profile.max_examples,
)
