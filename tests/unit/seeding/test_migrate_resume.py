"""`sesh migrate`'s seeding engine: interrupted anywhere and run again, it ends in the
state an uninterrupted run reaches; it refuses a chain seeded from another snapshot."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sesh.migrate import seeder
from sesh.migrate.snapshot import SeedNode
from tests.unit.seeding.conftest import Seeding, make_seeding


class BoaChain:
    """`SeedingChain` over titanoboa; `fail_after` batches, it stops as a crash would."""

    def __init__(self, seeding: Seeding, fail_after: int | None = None, fail_with=None):
        self.s = seeding
        self.fail_after = fail_after
        self.fail_with = fail_with or KeyboardInterrupt
        self.sent = 0

    def seeding(self) -> bool:
        return self.s.staking.seeding()

    def node_count(self) -> int:
        return self.s.staking.node_count()

    def bls_pubkey(self, node_id: int) -> bytes:
        return self.s.staking.node(node_id).bls_pubkey

    def requirement(self) -> int:
        return self.s.staking.staking_requirement()

    def seed(self, nodes: Sequence[SeedNode]) -> int:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise self.fail_with("interrupted")
        self.s.seed(nodes)
        self.sent += 1
        return 0

    def estimate(self, nodes: Sequence[SeedNode]) -> int:
        return 0

    def start(self) -> None:
        self.s.start()


def state(s: Seeding) -> dict:
    """Everything seeding writes, read through the views."""
    staking = s.staking
    nodes = []
    for node_id in range(1, staking.node_count() + 1):
        view = staking.node(node_id)
        accounts = list(staking.contributors(node_id))
        nodes.append(
            (
                tuple(view),
                tuple(accounts),
                tuple(tuple(staking.contribution(node_id, a))[:2] for a in accounts),
            )
        )
    return {
        "nodes": nodes,
        "active": staking.active_nodes(),
        "aggregate": staking.aggregate_pubkey(),
        "seeding": staking.seeding(),
        "held": s.token.balanceOf(staking.address),
    }


COUNT, BATCH = 23, 5


def run_to_end(s: Seeding, interruptions: Sequence[int]) -> dict:
    nodes = s.nodes(COUNT)
    for fail_after in interruptions:
        chain = BoaChain(s, fail_after=fail_after)
        with pytest.raises(KeyboardInterrupt):
            seeder.run(chain, seeder.plan(chain, nodes, BATCH), echo=lambda _: None)
    chain = BoaChain(s)
    the_plan = seeder.plan(chain, nodes, BATCH)
    assert the_plan.done == s.staking.node_count()
    seeder.run(chain, the_plan, echo=lambda _: None)
    return state(s)


def test_migrate__interrupted_and_rerun__ends_as_an_uninterrupted_run():
    whole = run_to_end(make_seeding(), [])
    assert len(whole["nodes"]) == COUNT and not whole["seeding"]
    assert run_to_end(make_seeding(), [2]) == whole
    assert run_to_end(make_seeding(), [0, 1, 1, 2]) == whole


def test_migrate__rerun_after_the_end__does_nothing():
    s = make_seeding()
    before = run_to_end(s, [])
    chain = BoaChain(s)
    assert seeder.run(chain, seeder.plan(chain, s.nodes(COUNT), BATCH), echo=lambda _: None) == []
    assert state(s) == before


def test_migrate__chain_seeded_from_another_snapshot__is_refused():
    s = make_seeding()
    s.seed(s.nodes(3, seed="another-network")[:2])
    with pytest.raises(seeder.MigrationError, match="another snapshot"):
        seeder.plan(BoaChain(s), s.nodes(COUNT), BATCH)


def test_migrate__dry_run__sends_nothing():
    s = make_seeding()
    chain = BoaChain(s)
    lines: list[str] = []
    seeder.run(chain, seeder.plan(chain, s.nodes(COUNT), BATCH), dry_run=True, echo=lines.append)
    assert s.staking.node_count() == 0 and s.staking.seeding()
    assert any("first batch of 5 nodes" in line for line in lines)
