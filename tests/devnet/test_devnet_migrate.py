"""`make devnet ARGS="--migrate N"` in CI, small: the staking contract deployed to seed,
the devnet's five nodes seeded among 30 nodes of a made-up old network (the others open),
started; the bridges agree on swarms of seeded nodes, and the story's vote removes one of
them on chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.devnet.runner import anvil_accounts, connected, deploy_devnet, start_nodes_and_story

NODES, MIGRATED = 5, 30
LOCAL_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "local.toml"
STATUS_OPEN, EXIT_REMOVED = 1, 2


@pytest.fixture(autouse=True)
def _function_isolation():
    """Ape's per-test snapshot off: Ape is connected to this test's own anvil."""
    yield


def test_devnet_migrate__seeded_network__runs_the_story(tmp_path):
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID, accounts=anvil_accounts(NODES))
    console = Console(width=100, force_terminal=False, record=True)
    started = None
    try:
        with connected(anvil.url):
            manifest = deploy_devnet(
                anvil.url, tmp_path / "deployments", LOCAL_CONFIG, console, seeding=True
            )
            started = start_nodes_and_story(
                anvil.url, manifest, console, NODES, [free_port() for _ in range(NODES)],
                tmp_path / "nodes", anvil.rpc, run_story=False, migrate=MIGRATED,
            )  # fmt: skip
            staking = started.story.suite.staking.contract
            assert not staking.seeding()
            assert int(staking.node_count()) == MIGRATED
            assert int(staking.active_nodes()) == NODES
            seeded_ids = {n.node_id for n in started.network.nodes}
            others = set(range(1, MIGRATED + 1)) - seeded_ids
            assert all(int(staking.node(i).status) == STATUS_OPEN for i in others)
            before = {n.node_id for n in started.network.live}
            result = started.story.run()
            assert result.killed in seeded_ids
            assert int(staking.node(result.killed).exit_reason) == EXIT_REMOVED
            members = {n for swarm in result.swarms_after.values() for n in swarm}
            assert members == before - {result.killed}
            assert "The move: seeding 30 nodes" in " ".join(console.export_text().split())
    finally:
        if started is not None:
            started.stop()
        anvil.stop()
