"""Issue #15, scenario 2, bridge side: a registration the network refuses to serve (a
duplicate Ed25519 key, a bad Ed25519 signature) is Active on chain; every bridge signs its
removal at once, without any failed test, and the lowest-id serving node leads the vote.

Real parts: the staking contract on anvil, the registry synced from its events, each
honest node's `/bls/sign` on loopback with its own BLS key, the leader's VotesService
choosing what to lead and its aggregator sending `remove_with_signature`.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.node.chain.rpc import RpcPool
from sesh.node.config import VotesConfig
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import TrackerViews
from sesh.node.votes.chain_tx import ChainClock, StakingChain, UnlockedSender
from sesh.node.votes.db import VotesDB
from sesh.node.votes.rules import REMOVE
from sesh.node.votes.service import VotesService
from tests.node.chain.test_real_staking import tracker_for
from tests.node.staking_driver import StakingDriver, node_keys

HONEST = (1, 2, 3, 4)
DUPLICATE = 5  # node 1's Ed25519 key with a BLS key of its own, from another operator
FORGED = 6  # 64 bytes that are not its Ed25519 signature
STATUS_ACTIVE, STATUS_EXITED = 2, 4
EXIT_REMOVED = 2


@pytest.fixture
def network(tmp_path, staking_artifacts):
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    loop = asyncio.new_event_loop()
    driver = StakingDriver(anvil.url, staking_artifacts)
    operator, other = driver.accounts[1], driver.accounts[2]
    ports = {i: free_port() for i in HONEST}
    for i in HONEST:
        assert driver.register(i, operator, endpoint=f"127.0.0.1:{ports[i]}") == i
    copied = NodeKeys(ed25519=node_keys(1).ed25519, bls=node_keys(50).bls)
    assert driver.register(50, other, keys=copied) == DUPLICATE
    assert driver.register(60, other, bad_ed25519_signature=True) == FORGED
    tracker = tracker_for(tmp_path, anvil.url, driver)
    tracker.settings.confirmations = 0
    pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=10.0)
    chain = StakingChain(pool, driver.address, DEVNET_CHAIN_ID)
    services: dict[int, VotesService] = {}
    runners: list[web.AppRunner] = []
    session: list[aiohttp.ClientSession] = []
    config = VotesConfig(retry_interval=0.2, takeover_delay=60.0)

    async def start():
        await tracker.pool.open()
        await tracker.sync_once()
        await pool.open()
        session.append(aiohttp.ClientSession())
        for i in HONEST:
            identity = NodeIdentity.from_seed(bytes(node_keys(i).ed25519), node_keys(i).bls)
            service = VotesService(
                config,
                identity,
                tracker,
                TrackerViews(tracker, identity.ed25519_pubkey),
                VotesDB(tmp_path / f"votes-{i}.sqlite3"),
                chain,
                ChainClock(pool),
                UnlockedSender(driver.accounts[3 + i]),
                Metrics(),
            )
            app = web.Application()
            service.setup_routes(app)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", ports[i]).start()
            services[i] = service
            runners.append(runner)
            await service.clock.refresh()

    loop.run_until_complete(start())
    yield loop, driver, tracker, services, ports, session[0]

    async def stop():
        for service in services.values():
            for task in service._votes.values():
                task.cancel()
            await asyncio.gather(*service._votes.values(), return_exceptions=True)
            if service._session is not None:
                await service._session.close()
        for runner in runners:
            await runner.cleanup()
        await session[0].close()
        await pool.close()
        await tracker.pool.close()

    loop.run_until_complete(stop())
    loop.close()
    tracker.close()
    anvil.stop()


def activated_at(driver: StakingDriver, node_id: int) -> int:
    return driver.staking.functions.node(node_id).call()[7]


def status(driver: StakingDriver, node_id: int) -> tuple[int, int]:
    view = driver.staking.functions.node(node_id).call()
    return view[1], view[3]  # status, exit_reason


def test_refused_registrations__are_removed_by_a_network_signature_led_by_the_lowest_id(network):
    loop, driver, tracker, services, _ports, _session = network
    registry = tracker.registry
    assert registry.nodes[DUPLICATE].excluded == "Ed25519 key already held by node 1"
    assert registry.nodes[FORGED].excluded.startswith("bad registration signature")
    assert status(driver, DUPLICATE)[0] == status(driver, FORGED)[0] == STATUS_ACTIVE

    async def lead_rounds():
        # The bridge's rounds as far as leading goes: the registry follows the chain, each
        # node starts the votes it is in line for, with the network as it now stands.
        leading: set[tuple[int, tuple[str, int]]] = set()
        for _ in range(100):
            await tracker.sync_once()
            for i, service in services.items():
                await service._lead(await service.snapshot())
                leading |= {(i, key) for key in service._votes}
            if all(t.done() for s in services.values() for t in s._votes.values()):
                break
            await asyncio.sleep(0.3)
        return leading

    leading = loop.run_until_complete(lead_rounds())

    # Only node 1 leads, the removal of both; nobody had tested either.
    assert leading == {(1, (REMOVE, DUPLICATE)), (1, (REMOVE, FORGED))}
    assert all(s.db.peers() == [] for s in services.values())
    assert status(driver, DUPLICATE) == (STATUS_EXITED, EXIT_REMOVED)
    assert status(driver, FORGED) == (STATUS_EXITED, EXIT_REMOVED)
    submissions = services[1].db.submissions()
    assert sorted((s.node_id, s.status) for s in submissions) == [
        (DUPLICATE, "mined"),
        (FORGED, "mined"),
    ]
    # The one mined first listed both refused registrations as its non-signers.
    # The one mined first listed as non-signers the refused registrations that were members
    # at its timestamp (activated before it); any activated since were no members at all.
    first = min(submissions, key=lambda s: s.id)
    members_then = [n for n in (DUPLICATE, FORGED) if activated_at(driver, n) < first.timestamp]
    assert first.non_signers == members_then
    # The node whose key was copied is untouched and still serves.
    assert status(driver, 1)[0] == STATUS_ACTIVE
    assert registry.nodes[1].serving


def test_sign__remove_of_a_healthy_node_not_excluded__is_refused_while_a_refused_one_is_signed(
    network,
):
    loop, driver, _tracker, services, ports, session = network

    async def ask(node_id: int) -> tuple[int, dict]:
        url = f"http://127.0.0.1:{ports[2]}/bls/sign"
        now = services[2].clock.now()
        body = {"action": REMOVE, "node_id": node_id, "timestamp": now - 5}
        async with session.post(url, json=body) as response:
            return response.status, await response.json()

    healthy = loop.run_until_complete(ask(4))
    refused = loop.run_until_complete(ask(DUPLICATE))

    assert healthy == (403, {"error": "node 4 passes this node's tests", "signer": 2})
    assert refused[0] == 200 and refused[1]["node_id"] == DUPLICATE and refused[1]["signature"]
    # A node that is not first in line leads nothing: node 2 starts no vote.
    loop.run_until_complete(services[2]._lead(loop.run_until_complete(services[2].snapshot())))
    assert services[2]._votes == {}
    assert status(driver, 4)[0] == STATUS_ACTIVE
