"""The bridge following the real ServiceNodeStaking contract (not the events mock):
every status change the contract makes shows in the registry, with the contract's own
figures, and nodes whose Ed25519 registration signature fails stay out of swarms."""

from __future__ import annotations

import pytest

from sesh.devnet.chain import DEVNET_CHAIN_ID
from sesh.node.chain.rpc import RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker, TrackerSettings
from sesh.node.metrics import Metrics
from tests.node.conftest import sync_now
from tests.node.staking_driver import REQUIREMENT, StakingDriver

CONFIRMATIONS = 2
STATUS_NAMES = {1: "open", 2: "active", 3: "exiting", 4: "exited", 5: "cancelled"}


@pytest.fixture
def real_staking(anvil, staking_artifacts):
    return StakingDriver(anvil.url, staking_artifacts)


def tracker_for(tmp_path, url, staking) -> ChainTracker:
    identity = Identity(DEVNET_CHAIN_ID, (staking.address.lower(),), staking.deploy_block)
    store = Store(tmp_path / "bridge.sqlite3", identity)
    pool = RpcPool([url], DEVNET_CHAIN_ID, Metrics(), timeout=5.0)
    settings = TrackerSettings(confirmations=CONFIRMATIONS, max_block_range=50, poll_interval=0.05)
    return ChainTracker(pool, store, [staking.address], Metrics(), settings)


def test_registry__follows_the_real_staking_contract(tmp_path, anvil, real_staking):
    staking = real_staking
    operator, delegator, second = staking.accounts[1:4]
    solo = [staking.register(i, operator) for i in range(1, 7)]
    shared = staking.register(
        7, operator, stake=REQUIREMENT // 2, reserved=[(delegator, REQUIREMENT // 4)]
    )
    staking.contribute(shared, delegator, REQUIREMENT // 4)
    staking.contribute(shared, second, REQUIREMENT // 4)
    still_open = staking.register(8, operator, stake=REQUIREMENT // 4)
    forged = staking.register(9, operator, bad_ed25519_signature=True)
    staking.request_exit(solo[0], operator)
    staking.advance(30 * 86400)
    staking.finalize_exit(solo[0])
    staking.request_exit(solo[1], operator)
    active = [n for n in [*solo[1:], shared, forged]]
    staking.remove(solo[2], active, non_signers=[forged])
    staking.mine(CONFIRMATIONS)

    tracker = tracker_for(tmp_path, anvil.url, staking)
    sync_now(tracker)
    registry = tracker.registry
    contract = staking.staking.functions
    for node_id in range(1, staking.staking.functions.node_count().call() + 1):
        on_chain = contract.node(node_id).call()
        node = registry.nodes[node_id]
        assert node.status == STATUS_NAMES[on_chain[1]], node_id
        assert node.stake == on_chain[5], node_id
        assert node.ed25519_pubkey == staking.keys[node_id].ed25519_pubkey
        assert node.bls_pubkey == on_chain[12]
    assert registry.nodes[shared].contributions == {
        operator.lower(): REQUIREMENT // 2,
        delegator.lower(): REQUIREMENT // 4,
        second.lower(): REQUIREMENT // 4,
    }
    assert registry.nodes[still_open].status == "open"
    assert registry.nodes[forged].excluded == (
        "bad registration signature: Ed25519 signature does not verify"
    )
    serving = sorted(n for members in registry.swarms.values() for n in members)
    # Active or exiting, with a valid signature: 2 (exiting), 4, 5, 6 and the shared node.
    assert serving == sorted([solo[1], solo[3], solo[4], solo[5], shared])
