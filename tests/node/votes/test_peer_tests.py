"""Peer tests: the sample a node tests (its swarm plus a random set drawn from the block
hash), and tests over real loopback HTTP against nodes in one process (the real storage
RPC, the real registry API's /info): a live node passes, a dead, misidentified or unsynced
one fails with the reason, and a votes round records each result in the node's SQLite."""

from __future__ import annotations

import asyncio
import hashlib

import aiohttp
import pytest
from aiohttp import web

from sesh.crypto import bls
from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.node.api import RegistryApi
from sesh.node.chain.rpc import RpcPool
from sesh.node.config import VotesConfig
from sesh.node.metrics import Metrics
from sesh.node.network import StaticViews, static_view
from sesh.node.votes.chain_tx import ChainClock, StakingChain
from sesh.node.votes.db import VotesDB
from sesh.node.votes.peer_tests import PeerTester
from sesh.node.votes.rules import test_sample as sample_of
from sesh.node.votes.service import VotesService
from sesh.protocol.nodes import NodeInfo
from tests.node.localnet import LocalNet, identity_for
from tests.node.votes.helpers import STAKING, RegistryBuilder, synced_tracker

OWN_KEY = hashlib.sha256(b"tester").digest()
BLOCK = hashlib.sha256(b"block 100").digest()
OTHERS = list(range(10, 40))
SWARM = [3, 5, 8]


# ----- the sample (pure)


def test_sample__is_the_same_for_the_same_block_and_node():
    first = sample_of(OWN_KEY, SWARM, OTHERS, BLOCK, 5)
    assert first == sample_of(OWN_KEY, list(reversed(SWARM)), list(reversed(OTHERS)), BLOCK, 5)
    assert len(first) == len(SWARM) + 5 and len(set(first)) == len(first)


def test_sample__always_holds_the_swarm_and_draws_the_rest_from_the_others():
    for n in range(20):
        block = hashlib.sha256(f"block {n}".encode()).digest()
        drawn = sample_of(OWN_KEY, SWARM, OTHERS, block, 5)
        assert drawn[: len(SWARM)] == SWARM
        assert set(drawn[len(SWARM) :]) <= set(OTHERS)


def test_sample__another_block_hash_draws_another_random_part():
    random_parts = {
        tuple(sample_of(OWN_KEY, SWARM, OTHERS, hashlib.sha256(bytes([n])).digest(), 5)[3:])
        for n in range(20)
    }
    # 30 choose 5 = 142,506 sets: twenty blocks drawing one set twice would be a broken draw.
    assert len(random_parts) == 20
    # Each of the others is drawn by some block: the draw reaches the whole pool.
    many = {
        peer
        for n in range(200)
        for peer in sample_of(OWN_KEY, [], OTHERS, hashlib.sha256(bytes([n, 1])).digest(), 5)
    }
    assert many == set(OTHERS)


def test_sample__another_node_draws_another_random_part_from_the_same_block():
    other_key = hashlib.sha256(b"another tester").digest()
    assert sample_of(OWN_KEY, [], OTHERS, BLOCK, 5) != sample_of(other_key, [], OTHERS, BLOCK, 5)


def test_sample__asking_for_more_than_there_are__takes_all_and_none_takes_the_swarm_only():
    assert sample_of(OWN_KEY, SWARM, [12, 11], BLOCK, 5) == SWARM + [11, 12]
    assert sample_of(OWN_KEY, SWARM, OTHERS, BLOCK, 0) == SWARM
    assert sample_of(OWN_KEY, [], [], BLOCK, 5) == []


# ----- tests of one node over loopback HTTP


def three_swarms(i: int) -> int:
    return (i % 3) << 62


@pytest.fixture(scope="module")
def anvil():
    chain = start_anvil(chain_id=DEVNET_CHAIN_ID)
    yield chain
    chain.stop()


class Network:
    """A LocalNet of `count` nodes with /info, the registry listing them, and the view of
    node 0 (the tester)."""

    def __init__(self, tmp_path, anvil, count: int, swarm_of=three_swarms):
        self.tmp_path = tmp_path
        self.anvil = anvil
        self.net = LocalNet(tmp_path, count, swarm_of=swarm_of, extra_routes=self._info)
        self.tracker = None
        self.apis: dict[int, RegistryApi] = {}

    def _info(self, node, app: web.Application) -> None:
        api = RegistryApi(self.tracker, Metrics(), DEVNET_CHAIN_ID, node.identity.ed25519_pubkey)
        api.setup_routes(app)
        self.apis[node.info.node_id] = api

    async def __aenter__(self) -> Network:
        # The registry is built from the identities LocalNet gives its nodes (fixed labels).
        build = RegistryBuilder()
        for i in range(self.net.count):
            identity = identity_for(f"local-{i}")
            keys = NodeKeys(identity.signing_key, bls.SecretKey.from_bytes((i + 1).to_bytes(32)))
            build.add(i + 1, keys, f"127.0.0.1:{20000 + i}")
        self.tracker = synced_tracker(self.tmp_path, self.anvil.url, build.registry)
        await self.net.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.net.close()
        self.tracker.close()
        self.tracker.store.close()

    @property
    def tester(self):
        return self.net.nodes[0]

    def view(self):
        return static_view([n.info for n in self.net.nodes], self.tester.identity.ed25519_pubkey)


def peer_tester(session: aiohttp.ClientSession) -> PeerTester:
    return PeerTester(lambda: session, timeout=2.0)


def test_peer_test__a_live_node__passes_its_info_and_storage_round_trip_twice(tmp_path, anvil):
    async def scenario():
        async with Network(tmp_path, anvil, 3) as net, aiohttp.ClientSession() as session:
            tester = peer_tester(session)
            target = net.net.nodes[1]
            first = await tester.test(net.view(), target.info)
            assert (first.ok, first.reason) == (True, None) and first.ms > 0
            # Again: the retrieve now pages from the last test message's hash.
            second = await tester.test(net.view(), target.info)
            assert (second.ok, second.reason) == (True, None)

    asyncio.run(scenario())


def test_peer_test__a_dead_node__fails_as_unreachable(tmp_path, anvil):
    async def scenario():
        async with Network(tmp_path, anvil, 3) as net, aiohttp.ClientSession() as session:
            live = net.net.nodes[1].info
            dead = NodeInfo(live.node_id, live.ed25519, live.x25519, f"127.0.0.1:{free_port()}", 0)
            result = await peer_tester(session).test(net.view(), dead)
            assert (result.ok, result.reason) == (False, "unreachable (ClientConnectorError)")

    asyncio.run(scenario())


def test_peer_test__a_node_answering_as_another__fails(tmp_path, anvil):
    async def scenario():
        async with Network(tmp_path, anvil, 3) as net, aiohttp.ClientSession() as session:
            real, other = net.net.nodes[1].info, net.net.nodes[2].info
            posing = NodeInfo(real.node_id, other.ed25519, other.x25519, real.endpoint, 0)
            result = await peer_tester(session).test(net.view(), posing)
            assert (result.ok, result.reason) == (False, "info: answers as another node")

    asyncio.run(scenario())


def test_peer_test__a_node_not_synced__fails(tmp_path, anvil):
    async def scenario():
        async with Network(tmp_path, anvil, 3) as net, aiohttp.ClientSession() as session:
            net.tracker.synced.clear()
            result = await peer_tester(session).test(net.view(), net.net.nodes[1].info)
            assert (result.ok, result.reason) == (False, "info: not synced")

    asyncio.run(scenario())


def test_peer_test__a_node_without_the_registry_api__fails_on_info(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net, aiohttp.ClientSession() as session:
            view = static_view([n.info for n in net.nodes], net.nodes[0].identity.ed25519_pubkey)
            result = await peer_tester(session).test(view, net.nodes[1].info)
            assert (result.ok, result.reason) == (False, "info: HTTP 404")

    asyncio.run(scenario())


def test_peer_test__an_info_answer_that_is_not_a_json_object__fails(tmp_path):
    async def info(request: web.Request) -> web.Response:
        return web.Response(text="all good, trust me")

    async def scenario():
        app = web.Application()
        app.router.add_get("/info", info)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with LocalNet(tmp_path, 1) as net, aiohttp.ClientSession() as session:
                real = net.nodes[0].info
                node = NodeInfo(2, real.ed25519, real.x25519, f"127.0.0.1:{port}", 0)
                view = static_view([real], real.ed25519)
                result = await peer_tester(session).test(view, node)
                assert (result.ok, result.reason) == (
                    False,
                    "info: the answer is not a JSON object",
                )
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_peer_test__a_node_that_does_not_store_the_test_message__fails_the_round_trip(
    tmp_path, anvil
):
    async def scenario():
        net = Network(tmp_path, anvil, 3, swarm_of=lambda i: 0)
        async with net, aiohttp.ClientSession() as session:
            view = net.view()
            target = net.net.nodes[1]
            # The tested node sees the network split in three swarms, and the tester's test
            # account for their one swarm is not one the tested node holds: it answers 421.
            split = [
                NodeInfo(n.node_id, n.ed25519, n.x25519, n.endpoint, three_swarms(k))
                for k, n in enumerate(view.nodes.values())
            ]
            target.views.view = static_view(split, target.identity.ed25519_pubkey)
            while True:
                tester = peer_tester(session)
                account = tester.accounts.for_swarm(view, 0)
                if not target.views.view.is_ours(account.x25519_pubkey):
                    break
            result = await tester.test(view, target.info)
            assert not result.ok and result.reason.startswith("store: HTTP 421"), result

    asyncio.run(scenario())


# ----- a votes round: sample, test, record


def test_round__tests_its_sample_and_watched_nodes_never_itself_and_records_each(tmp_path, anvil):
    config = VotesConfig(random_peers=2, test_timeout=2.0, aggregate=False)

    async def scenario():
        async with Network(tmp_path, anvil, 9) as net:
            tester = net.tester
            view = net.view()
            own = view.own
            swarm = [n.node_id for n in view.peers()]
            others = [n.node_id for n in view.nodes.values() if n.swarm_id != own.swarm_id]
            block = net.tracker.checkpoint.hash or bytes(32)
            expected = sample_of(own.ed25519, swarm, others, block, config.random_peers)
            watched = next(n for n in others if n not in expected)
            dead = swarm[0]
            await net.net.halt(next(n for n in net.net.nodes if n.info.node_id == dead))

            pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=5.0)
            db = VotesDB(tmp_path / "votes.sqlite3")
            db.watch(watched)
            service = VotesService(
                config,
                tester.identity,
                net.tracker,
                StaticViews(view),
                db,
                StakingChain(pool, STAKING, DEVNET_CHAIN_ID),
                ChainClock(pool),
                None,
                Metrics(),
            )
            async with pool:
                try:
                    await service.round()
                finally:
                    await service.session().close()
            states = {s.node_id: s for s in db.peers()}
            assert set(states) == set(expected) | {watched}
            assert own.node_id not in states and len(swarm) == 2
            assert {n for n, s in states.items() if s.tests == 1} == set(states)
            assert states[dead].failing and states[dead].last_reason.startswith("unreachable")
            assert [n for n, s in states.items() if s.failing] == [dead]
            assert db.watched() == [dead], "the watched node passed: no longer watched"
            service.close()

    asyncio.run(scenario())
