"""`POST /bls/sign` over real HTTP on loopback: the bridge's signer (VotesService) over a
real registry of nodes with real keys, its own vote log, and an anvil for the chain's
clock. A signature it gives verifies with the node's registered BLS key on the exact
DESIGN §4 message; whatever it refuses gets the reason, and a malformed request is
answered 400 with nothing recorded and nothing signed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import aiohttp
import pytest
from aiohttp import web

from sesh.crypto import bls
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.node.chain.rpc import RpcPool
from sesh.node.config import VotesConfig
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import StaticViews, static_view
from sesh.node.votes.chain_tx import ChainClock, StakingChain
from sesh.node.votes.db import VotesDB
from sesh.node.votes.rules import EXIT, LIQUIDATE, MIN_FAILED_TESTS, REMOVE
from sesh.node.votes.service import VotesService
from tests.node.votes.helpers import STAKING, RegistryBuilder, node_keys_for, synced_tracker

SIGNER = 1  # the node whose /bls/sign is called
FAILING = 2  # seen failing by the signer for longer than the liquidation period
FLAKY = 3  # seen failing, but for less than the removal period
PASSING = 4  # seen passing
EXITING = 5  # requested its exit
OPEN = 6  # registered, never activated
GONE = 7  # exited
UNKNOWN = 99
CONFIG = VotesConfig(remove_after=60.0, liquidate_after=600.0, clock_tolerance=120.0)
SIGN_METRIC = "sesh_votes_sign_requests_total"


@pytest.fixture(scope="module")
def anvil():
    chain = start_anvil(chain_id=DEVNET_CHAIN_ID)
    yield chain
    chain.stop()


def registry():
    build = RegistryBuilder()
    for node_id in (SIGNER, FAILING, FLAKY, PASSING, EXITING, GONE):
        build.add(node_id, node_keys_for(node_id), f"127.0.0.1:{20000 + node_id}")
    build.add(OPEN, node_keys_for(OPEN), "127.0.0.1:20006", activate=False)
    build.request_exit(EXITING)
    build.exited(GONE)
    return build.registry


def identity_of(node_id: int, with_bls: bool = True) -> NodeIdentity:
    keys = node_keys_for(node_id)
    return NodeIdentity.from_seed(bytes(keys.ed25519), keys.bls if with_bls else None)


@dataclass
class Signer:
    service: VotesService
    url: str
    session: aiohttp.ClientSession

    @property
    def db(self) -> VotesDB:
        return self.service.db

    async def post(self, body=None, raw: bytes | None = None) -> tuple[int, dict]:
        kwargs = {"data": raw} if raw is not None else {"json": body}
        async with self.session.post(self.url + "/bls/sign", **kwargs) as response:
            return response.status, await response.json()

    def counted(self, action: str, result: str) -> float:
        return self.service.metrics.get(SIGN_METRIC, action=action, result=result)


@asynccontextmanager
async def serving(tmp_path, anvil, identity=None, config=CONFIG) -> AsyncIterator[Signer]:
    """The signer of node SIGNER on a free loopback port, signing by `config`, with the
    view of FAILING, FLAKY and PASSING their comments give (periods of CONFIG)."""
    identity = identity or identity_of(SIGNER)
    tracker = synced_tracker(tmp_path, anvil.url, registry())
    pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=5.0)
    db = VotesDB(tmp_path / "votes.sqlite3")
    now = time.time()
    for at in (now - CONFIG.liquidate_after - 30, now - 5):
        db.record_test(FAILING, False, "unreachable (ClientConnectorError)", 1.0, at=at)
    for at in (now - CONFIG.remove_after / 2, now - 5):
        db.record_test(FLAKY, False, "info: not synced", 1.0, at=at)
    db.record_test(PASSING, True, None, 1.0, at=now - 5)
    service = VotesService(
        config,
        identity,
        tracker,
        StaticViews(static_view([], identity.ed25519_pubkey)),
        db,
        StakingChain(pool, STAKING, DEVNET_CHAIN_ID),
        ChainClock(pool),
        None,
        Metrics(),
    )
    app = web.Application()
    service.setup_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await pool.open()
    session = aiohttp.ClientSession()
    try:
        yield Signer(service, f"http://127.0.0.1:{port}", session)
    finally:
        await session.close()
        await runner.cleanup()
        await pool.close()
        service.close()
        tracker.close()
        tracker.store.close()


def request(action: str, node_id: int, timestamp: int | None = None) -> dict:
    return {"action": action, "node_id": node_id, "timestamp": timestamp or int(time.time())}


def verifies(answer: dict, action: str, node_id: int, timestamp: int) -> bool:
    """Whether the answer's signature is SIGNER's registered key's signature of the
    DESIGN §4 message of (action, node, timestamp) on this chain and staking contract."""
    builder = {
        EXIT: bls.exit_message,
        REMOVE: bls.remove_message,
        LIQUIDATE: bls.liquidate_message,
    }[action]
    message = builder(DEVNET_CHAIN_ID, STAKING, node_id, timestamp)
    signature = bls.Signature.from_compressed(bytes.fromhex(answer["signature"]))
    return bls.verify(node_keys_for(SIGNER).bls_pubkey, message, signature)


# ----- signed


def test_sign__remove_of_a_node_failing_long_enough__verifies_on_the_design_message(
    tmp_path, anvil
):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            body = request(REMOVE, FAILING)
            status, answer = await signer.post(body)
            assert status == 200, answer
            assert {k: answer[k] for k in body} == body
            assert answer["signer"] == SIGNER
            assert answer["bls_pubkey"] == node_keys_for(SIGNER).bls_pubkey.to_compressed().hex()
            assert verifies(answer, REMOVE, FAILING, body["timestamp"])
            # Bound to its action, node and time: not a signature of anything else.
            assert not verifies(answer, LIQUIDATE, FAILING, body["timestamp"])
            assert not verifies(answer, REMOVE, FLAKY, body["timestamp"])
            assert not verifies(answer, REMOVE, FAILING, body["timestamp"] + 1)
            assert signer.counted(REMOVE, "signed") == 1

    asyncio.run(scenario())


def test_sign__liquidate_after_the_longer_period__verifies(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            body = request(LIQUIDATE, FAILING)
            status, answer = await signer.post(body)
            assert status == 200, answer
            assert verifies(answer, LIQUIDATE, FAILING, body["timestamp"])

    asyncio.run(scenario())


def test_sign__a_timestamp_near_the_edge_of_the_tolerance__verifies(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            for offset in (-CONFIG.clock_tolerance + 5, CONFIG.clock_tolerance - 5):
                timestamp = int(time.time() + offset)
                status, answer = await signer.post(request(REMOVE, FAILING, timestamp))
                assert status == 200, answer
                assert verifies(answer, REMOVE, FAILING, timestamp)

    asyncio.run(scenario())


# ----- refused, with the reason


def test_sign__liquidate_before_the_longer_period__is_refused(tmp_path, anvil):
    config = replace(CONFIG, liquidate_after=CONFIG.liquidate_after * 10)

    async def scenario():
        async with serving(tmp_path, anvil, config=config) as signer:
            status, answer = await signer.post(request(LIQUIDATE, FAILING))
            assert status == 403
            assert (
                f"liquidate needs {MIN_FAILED_TESTS} over {config.liquidate_after:g} s"
                in (answer["error"])
            )
            assert "signature" not in answer and answer["signer"] == SIGNER
            assert signer.counted(LIQUIDATE, "refused") == 1
            assert signer.counted(LIQUIDATE, "signed") == 0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("node_id", "reason"),
    [
        (FLAKY, f"node {FLAKY} has failed 2 test(s) over"),
        (PASSING, f"node {PASSING} passes this node's tests"),
        (UNKNOWN, f"node {UNKNOWN} is unknown"),
        (OPEN, f"node {OPEN} is open, not in the network"),
        (GONE, f"node {GONE} is exited, not in the network"),
        (SIGNER, "a node does not sign its own removal"),
    ],
)
def test_sign__remove_unsupported_by_the_view__is_refused_with_the_reason(
    tmp_path, anvil, node_id, reason
):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            status, answer = await signer.post(request(REMOVE, node_id))
            assert status == 403
            assert answer["error"].startswith(reason), answer
            assert "signature" not in answer

    asyncio.run(scenario())


def test_sign__refused_about_a_node_in_the_network__watches_it_but_not_others(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            assert signer.db.watched() == [FAILING, FLAKY]
            for node_id in (PASSING, UNKNOWN, GONE, SIGNER):
                status, _ = await signer.post(request(REMOVE, node_id))
                assert status == 403
            # Asked about PASSING: it is tested every round from now on, to have a view.
            assert signer.db.watched() == [FAILING, FLAKY, PASSING]
            assert signer.db.peer(UNKNOWN) is None and signer.db.peer(GONE) is None

    asyncio.run(scenario())


def test_sign__exit_of_a_node_not_exiting_or_unknown__is_refused(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            for node_id, reason in ((UNKNOWN, "is unknown"), (OPEN, "is open, not in")):
                status, answer = await signer.post(request(EXIT, node_id))
                assert status == 403 and reason in answer["error"]
            assert signer.db.watched() == [FAILING, FLAKY], "exit requests watch nobody"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("offset", "words"), [(-1, "behind this node's clock"), (1, "ahead of this node's clock")]
)
def test_sign__a_timestamp_outside_the_tolerance__is_refused(tmp_path, anvil, offset, words):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            timestamp = int(time.time() + offset * (CONFIG.clock_tolerance + 30))
            status, answer = await signer.post(request(REMOVE, FAILING, timestamp))
            assert status == 403
            assert f"timestamp {timestamp} is" in answer["error"] and words in answer["error"]
            assert "signature" not in answer

    asyncio.run(scenario())


# ----- refused: this node cannot sign


def test_sign__without_a_bls_key__is_unavailable(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil, identity=identity_of(SIGNER, False)) as signer:
            status, answer = await signer.post(request(REMOVE, FAILING))
            assert (status, answer) == (503, {"error": "this node has no BLS key"})

    asyncio.run(scenario())


def test_sign__with_a_bls_key_other_than_the_registered_one__is_unavailable(tmp_path, anvil):
    keys = node_keys_for(SIGNER)
    impostor = NodeIdentity.from_seed(bytes(keys.ed25519), node_keys_for(UNKNOWN).bls)

    async def scenario():
        async with serving(tmp_path, anvil, identity=impostor) as signer:
            status, answer = await signer.post(request(REMOVE, FAILING))
            assert status == 503
            assert answer == {"error": "this node's BLS key is not the one registered"}

    asyncio.run(scenario())


def test_sign__by_a_node_not_in_the_network__is_unavailable(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil, identity=identity_of(GONE)) as signer:
            status, answer = await signer.post(request(REMOVE, FAILING))
            assert (status, answer) == (503, {"error": "this node is not in the network"})

    asyncio.run(scenario())


def test_sign__before_the_registry_is_synced__is_unavailable(tmp_path, anvil):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            signer.service.tracker.synced.clear()
            status, answer = await signer.post(request(REMOVE, FAILING))
            assert (status, answer) == (503, {"error": "not synced"})

    asyncio.run(scenario())


# ----- malformed: 400, nothing recorded, nothing signed


@pytest.mark.parametrize(
    ("raw", "body", "error"),
    [
        (b"{not json", None, "bad request: "),
        (b"", None, "bad request: "),
        pytest.param(b"[" * 30_000, None, "nested too deeply", id="nested-arrays"),
        pytest.param(b'{"a":' * 12_000, None, "nested too deeply", id="nested-objects"),
        (b"\xff\xfe{}", None, "bad request: "),
        (None, [REMOVE, FAILING], "bad request: the body must be a JSON object"),
        (None, {"action": REMOVE, "node_id": FAILING}, "bad request: timestamp must be"),
        (None, {"node_id": FAILING, "timestamp": 1}, "bad request: action must be one of"),
        (None, {"action": "slash", "node_id": FAILING, "timestamp": 1}, "bad request: action"),
        (None, {"action": REMOVE, "node_id": str(FAILING), "timestamp": 1}, "node_id must be"),
        (None, {"action": REMOVE, "node_id": FAILING, "timestamp": 1.5}, "timestamp must be"),
        (None, {"action": REMOVE, "node_id": 0, "timestamp": 1}, "node_id must be a registered"),
        (None, {**request(REMOVE, FAILING), "extra": 1}, "bad request: unknown field 'extra'"),
    ],
)
def test_sign__a_malformed_request__is_400_and_records_and_signs_nothing(
    tmp_path, anvil, raw, body, error
):
    async def scenario():
        async with serving(tmp_path, anvil) as signer:
            before = [(s.node_id, s.tests, s.watched_since) for s in signer.db.peers()]
            status, answer = await signer.post(body, raw=raw)
            assert status == 400
            assert answer["error"].startswith("bad request: ") and error in answer["error"]
            assert set(answer) == {"error"}
            assert [(s.node_id, s.tests, s.watched_since) for s in signer.db.peers()] == before
            assert signer.db.votes() == [] and signer.db.submissions() == []
            for action in (EXIT, REMOVE, LIQUIDATE):
                assert signer.counted(action, "signed") == signer.counted(action, "refused") == 0

    asyncio.run(scenario())
