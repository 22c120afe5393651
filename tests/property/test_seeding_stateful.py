"""Seeding the running network's nodes (ServiceNodeStakingExtension through ServiceNodeStaking)
against a plain model written from the rules: a batch either imports all its nodes or
none; after every step the contract's nodes, stakes, active set and aggregate key are
the model's, and no node is ever half in.

The model knows only the rules: a node seeded with its full requirement is active (its
key in the aggregate), any other is open; the contract holds every stake seeded or
contributed; a batch with a forged proof, a repeated or unsorted key, a stake above the
requirement, or a caller other than the owner changes nothing; nothing but views works
before `start`, and no seeding after it.
"""

from __future__ import annotations

import dataclasses

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sesh.crypto import bls
from sesh.migrate.snapshot import SeedStake
from tests.unit.seeding.conftest import REQUIREMENT, make_seeding

POOL_SIZE = 20
FAULTS = ["forged", "repeated", "unsorted", "above", "not_owner"]
STATUS_OPEN, STATUS_ACTIVE = 1, 2


def _deployment():
    """A fresh deployment and a snapshot for it (the proofs name its address)."""
    seeding = make_seeding()
    return seeding, seeding.nodes(POOL_SIZE)


class SeedingMachine(RuleBasedStateMachine):
    @initialize()
    def deploy(self):
        self.s, self.pool = _deployment()
        self.next = 0  # the next node of the (ordered) snapshot
        self.seeded: list = []  # the model: seeded nodes in id order
        self.active: set[int] = set()  # node ids
        self.extra: dict[int, int] = {}  # node id -> stake contributed after start
        self.started = False
        self.attacker = boa.env.generate_address("attacker")

    # ----- seeding

    @precondition(lambda self: not self.started and self.next < POOL_SIZE)
    @rule(size=st.integers(1, 6), fault=st.sampled_from([None, None, None, *FAULTS]))
    def seed(self, size, fault):
        batch = list(self.pool[self.next : self.next + size])
        sender = None
        if fault == "forged":
            # A proof of another node of the batch (or of the previous one).
            victim = len(batch) // 2
            other = self.pool[(self.next + victim + 1) % POOL_SIZE]
            batch[victim] = dataclasses.replace(batch[victim], bls_pop=other.bls_pop)
        elif fault == "repeated":
            batch.append(batch[-1]) if not self.seeded else batch.insert(0, self.seeded[-1])
        elif fault == "unsorted" and len(batch) > 1:
            batch[0], batch[1] = batch[1], batch[0]
        elif fault == "above":
            node = batch[-1]
            batch[-1] = dataclasses.replace(
                node,
                operator_stake=REQUIREMENT // 2,
                contributors=(SeedStake("0x" + "ab" * 20, REQUIREMENT // 2 + 1, 0),),
            )
        elif fault == "not_owner":
            sender = self.attacker
        refused = fault is not None and not (fault == "unsorted" and len(batch) == 1)
        if refused:
            with boa.reverts():
                self.s.seed(batch, sender=sender)
            return
        self.s.seed(batch)
        for node in batch:
            self.seeded.append(node)
            if node.stake == REQUIREMENT:
                self.active.add(len(self.seeded))
        self.next += len(batch)

    @precondition(lambda self: not self.started)
    @rule()
    def start(self):
        self.s.start()
        self.started = True

    @precondition(lambda self: self.started and self.next < POOL_SIZE)
    @rule()
    def seed_after_start(self):
        with boa.reverts("staking: not seeding"):
            self.s.seed(self.pool[self.next : self.next + 1])

    @precondition(lambda self: not self.started and self.seeded)
    @rule(data=st.data())
    def contribute_before_start(self, data):
        node_id = data.draw(st.integers(1, len(self.seeded)))
        with boa.env.prank(self.s.owner), boa.reverts("staking: not started"):
            self.s.staking.contribute(node_id, REQUIREMENT // 4)

    @precondition(
        lambda self: (
            self.started and any(i not in self.active for i in range(1, len(self.seeded) + 1))
        )
    )
    @rule(data=st.data())
    def fill_open_node(self, data):
        open_ids = [i for i in range(1, len(self.seeded) + 1) if i not in self.active]
        node_id = data.draw(st.sampled_from(open_ids))
        node = self.seeded[node_id - 1]
        staking, token = self.s.staking, self.s.token
        for slot in node.contributors:
            if slot.amount == 0:
                self._pay(slot.account, slot.reserved, node_id)
        rest = REQUIREMENT - node.stake - self.extra.get(node_id, 0)
        if rest:
            self._pay(boa.env.generate_address(f"public-{node_id}"), rest, node_id)
        self.active.add(node_id)
        assert staking.node(node_id).status == STATUS_ACTIVE
        del token

    def _pay(self, account, amount, node_id):
        with boa.env.prank(self.s.owner):
            self.s.token.transfer(account, amount)
        with boa.env.prank(account):
            self.s.token.approve(self.s.staking.address, amount)
            self.s.staking.contribute(node_id, amount)
        self.extra[node_id] = self.extra.get(node_id, 0) + amount

    # ----- invariants

    @invariant()
    def nodes_and_stakes_are_the_models(self):
        if not hasattr(self, "s"):
            return
        staking = self.s.staking
        assert staking.node_count() == len(self.seeded)
        for node_id, node in enumerate(self.seeded, start=1):
            view = staking.node(node_id)
            assert view.bls_pubkey == node.bls_pubkey
            assert view.operator == node.operator
            assert view.total_stake == node.stake + self.extra.get(node_id, 0)
            assert view.status == (STATUS_ACTIVE if node_id in self.active else STATUS_OPEN)

    @invariant()
    def no_node_is_half_in(self):
        if not hasattr(self, "s"):
            return
        beyond = len(self.seeded) + 1
        staking = self.s.staking
        assert staking.node(beyond).status == 0
        assert list(staking.contributors(beyond)) == []
        if self.next < POOL_SIZE:
            unseeded = self.pool[self.next]
            assert staking.contribution(beyond, unseeded.operator).stake == 0

    @invariant()
    def aggregate_key_and_holdings_are_the_models(self):
        if not hasattr(self, "s"):
            return
        staking = self.s.staking
        assert staking.active_nodes() == len(self.active)
        keys = [bls.PublicKey.from_eip2537(self.seeded[i - 1].bls_pubkey) for i in self.active]
        expected = bls.aggregate_public_keys(keys).to_eip2537() if keys else b"\x00" * 128
        assert staking.aggregate_pubkey() == expected
        held = sum(n.stake for n in self.seeded) + sum(self.extra.values())
        assert self.s.token.balanceOf(staking.address) == held
        assert staking.seeding() == (not self.started)


TestSeeding = SeedingMachine.TestCase
_profile = settings()
TestSeeding.settings = settings(
    _profile,
    stateful_step_count=min(_profile.stateful_step_count, 20),
    max_examples=6 if _profile.max_examples < 1_000 else 200,
)
