"""Fixtures for the bridge tests: anvils of their own (never the one `ape test` runs),
the events contract on them, and trackers over temporary databases."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil
from sesh.node.chain.rpc import RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker, TrackerSettings
from sesh.node.metrics import Metrics
from tests.node.driver import EventsDriver, compile_mock
from tests.node.staking_driver import compile_contract


@pytest.fixture(scope="session")
def mock_artifacts():
    return compile_mock()


@pytest.fixture(scope="session")
def staking_artifacts():
    """The real suite's contracts the staking driver deploys, compiled once per run."""
    names = [
        "SessionToken",
        "RewardRatePool",
        "BLSVerifier",
        "ServiceNodeStakingExtension",
        "ServiceNodeStaking",
    ]
    return {name: compile_contract(name) for name in names}


@pytest.fixture
def anvil():
    """A fresh anvil per test: reorg and rollback tests rewrite its history."""
    chain = start_anvil(chain_id=DEVNET_CHAIN_ID)
    yield chain
    chain.stop()


@pytest.fixture
def driver(anvil, mock_artifacts):
    abi, bytecode = mock_artifacts
    events, block = EventsDriver.deploy(anvil.url, abi, bytecode)
    events.deploy_block = block
    return events


@dataclass
class TrackerFactory:
    tmp_path: Path
    driver: EventsDriver
    made: int = 0

    def __call__(
        self,
        urls: list[str],
        confirmations: int = 2,
        max_block_range: int = 50,
        timeout: float = 2.0,
        max_lag_blocks: int = 20,
        chain_id: int = DEVNET_CHAIN_ID,
    ) -> ChainTracker:
        self.made += 1
        metrics = Metrics()
        identity = Identity(chain_id, (self.driver.address.lower(),), self.driver.deploy_block)
        store = Store(self.tmp_path / f"bridge-{self.made}.sqlite3", identity)
        pool = RpcPool(urls, chain_id, metrics, timeout=timeout, max_lag_blocks=max_lag_blocks)
        settings = TrackerSettings(
            confirmations=confirmations, max_block_range=max_block_range, poll_interval=0.05
        )
        return ChainTracker(pool, store, [self.driver.address], metrics, settings)


@pytest.fixture
def make_tracker(tmp_path, driver):
    return TrackerFactory(tmp_path, driver)


async def sync(tracker: ChainTracker) -> None:
    """One full round (opens and closes the tracker's RPC pool)."""
    async with tracker.pool:
        await tracker.sync_once()


def sync_now(tracker: ChainTracker) -> None:
    asyncio.run(sync(tracker))
