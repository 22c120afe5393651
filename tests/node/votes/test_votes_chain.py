"""Network votes against the real staking contract: ten registered nodes, each with its own
BLS key, its own `/bls/sign` (the bridge's signer, over its own vote log) on loopback,
and an aggregator sending the real `remove_with_signature` / `exit_with_signature`.

What each signer has seen of the failing node is written into its log as test results;
everything else is real: the registry synced from the contract's events, the HTTP
requests, the BLS signatures, the aggregation, the contract's verification on anvil.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from eth_abi import decode

from sesh.crypto import bls
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.node.chain.rpc import RpcPool
from sesh.node.config import VotesConfig
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import TrackerViews
from sesh.node.votes.aggregator import Aggregator, Voter
from sesh.node.votes.chain_tx import ChainClock, StakingChain, UnlockedSender
from sesh.node.votes.db import VotesDB
from sesh.node.votes.rules import EXIT, MIN_EXIT_AGE, REMOVE, SIGNATURE_EXPIRY
from sesh.node.votes.service import VotesService
from tests.node.chain.test_real_staking import tracker_for
from tests.node.staking_driver import StakingDriver, node_keys

NODES = 10
FAILING = 10  # never serves: the node the network removes
ATTACKER = 9  # answers with a signature of another message
EXITING = 8  # requested its exit at registration time
REMOVE_AFTER = 30.0
STATUS_ACTIVE, STATUS_EXITED = 2, 4
EXIT_NETWORK, EXIT_REMOVED = 1, 2


@dataclass
class Network:
    """The chain, the nodes' signers, and a private event loop they run in."""

    anvil: object
    driver: StakingDriver
    loop: asyncio.AbstractEventLoop
    pool: RpcPool
    tracker: object
    signers: dict[int, VotesService] = field(default_factory=dict)
    runners: list[web.AppRunner] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    def run(self, awaitable):
        return self.loop.run_until_complete(awaitable)

    def rpc(self, method, params=None):
        return self.anvil.rpc(method, params or [])

    @property
    def chain(self) -> StakingChain:
        return StakingChain(self.pool, self.driver.address, DEVNET_CHAIN_ID)

    def voters(self) -> list[Voter]:
        return [
            Voter(n.node_id, n.bls_pubkey, n.endpoint, n.activated_block)
            for n in self.tracker.registry.nodes.values()
            if n.status in ("active", "exiting")
        ]

    def aggregator(self, tmp_path, name: str, account: int, receipt_timeout=30.0) -> Aggregator:
        return Aggregator(
            self.chain,
            ChainClock(self.pool),
            VotesDB(tmp_path / f"{name}.sqlite3"),
            UnlockedSender(self.driver.accounts[account]),
            lambda: self.session,
            sign_timeout=5.0,
            receipt_timeout=receipt_timeout,
        )

    def views(self, tmp_path, agree: set[int], disagree: set[int] = frozenset()) -> None:
        """Give every signer a fresh log: `agree` saw the failing node fail for a minute,
        `disagree` saw it pass a moment ago, the others never tested it."""
        now = time.time()
        for node_id, signer in self.signers.items():
            signer.db = VotesDB(tmp_path / f"signer-{node_id}-{now}.sqlite3")
            if node_id in agree:
                signer.db.record_test(FAILING, False, "unreachable", 1.0, at=now - 2 * REMOVE_AFTER)
                signer.db.record_test(FAILING, False, "unreachable", 1.0, at=now - 5)
            if node_id in disagree:
                signer.db.record_test(FAILING, True, None, 1.0, at=now - 5)

    def node(self, node_id: int) -> tuple[int, int]:
        view = self.driver.staking.functions.node(node_id).call()
        return view[1], view[3]  # status, exit_reason

    def nonce(self, account: int) -> int:
        address = self.driver.accounts[account]
        return int(self.rpc("eth_getTransactionCount", [address, "pending"]), 16)

    def transactions_to_staking(self, since_block: int) -> list[dict]:
        found = []
        head = int(self.rpc("eth_blockNumber"), 16)
        for number in range(since_block + 1, head + 1):
            block = self.rpc("eth_getBlockByNumber", [hex(number), True])
            found += [
                tx for tx in block["transactions"]
                if (tx.get("to") or "").lower() == self.driver.address.lower()
            ]  # fmt: skip
        return found


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _attacker_app(index: int) -> web.Application:
    """A node that answers every request with a signature of some other message."""
    secret = node_keys(index).bls

    async def sign(request: web.Request) -> web.Response:
        wrong = bls.sign(secret, b"\x00" * 32)
        return web.json_response({"signature": wrong.to_compressed().hex()})

    app = web.Application()
    app.router.add_post("/bls/sign", sign)
    return app


@pytest.fixture(scope="module")
def network(tmp_path_factory, staking_artifacts):
    tmp = tmp_path_factory.mktemp("votes-chain")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    loop = asyncio.new_event_loop()
    driver = StakingDriver(anvil.url, staking_artifacts)
    operator = driver.accounts[1]
    ports = {i: free_port() for i in range(1, NODES + 1)}
    for i in range(1, NODES + 1):
        assert driver.register(i, operator, endpoint=f"127.0.0.1:{ports[i]}") == i
    driver.request_exit(EXITING, operator)
    # A signature counts the nodes activated before its timestamp (`chain time - 5 s`): the
    # votes below are about a network whose nodes are all past that.
    driver.advance(60)
    tracker = tracker_for(tmp, anvil.url, driver)
    tracker.settings.confirmations = 0
    pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=10.0)
    net = Network(anvil, driver, loop, pool, tracker)

    async def start():
        await tracker.pool.open()
        await tracker.sync_once()
        await pool.open()
        net.session = aiohttp.ClientSession()
        config = VotesConfig(remove_after=REMOVE_AFTER, liquidate_after=4 * REMOVE_AFTER)
        for i in range(1, NODES):
            keys = node_keys(i)
            if i == ATTACKER:
                net.runners.append(await _serve(_attacker_app(i), ports[i]))
                continue
            identity = NodeIdentity.from_seed(bytes(keys.ed25519), keys.bls)
            signer = VotesService(
                config,
                identity,
                tracker,
                TrackerViews(tracker, identity.ed25519_pubkey),
                VotesDB(tmp / f"signer-{i}.sqlite3"),
                net.chain,
                ChainClock(pool),
                None,
                Metrics(),
            )
            app = web.Application()
            signer.setup_routes(app)
            net.signers[i] = signer
            net.runners.append(await _serve(app, ports[i]))

    net.run(start())
    snapshot = net.rpc("evm_snapshot")
    yield net
    net.rpc("evm_revert", [snapshot])

    async def stop():
        for runner in net.runners:
            await runner.cleanup()
        await net.session.close()
        await pool.close()
        await tracker.pool.close()

    net.run(stop())
    loop.close()
    tracker.close()
    anvil.stop()


@pytest.fixture(autouse=True)
def fresh_chain(network):
    """Every test starts from the chain as registered."""
    snapshot = network.rpc("evm_snapshot")
    yield
    network.rpc("evm_setAutomine", [True])
    network.rpc("evm_revert", [snapshot])


def test_vote__with_non_signers__the_contract_accepts_the_rest(network, tmp_path):
    network.views(tmp_path, agree={1, 2, 3, 4, 5, 6, 7}, disagree={EXITING})
    aggregator = network.aggregator(tmp_path, "leader", account=2)
    start = int(network.rpc("eth_blockNumber"), 16)

    outcome = network.run(aggregator.attempt(REMOVE, FAILING, network.voters()))

    assert outcome.state == "done", outcome.detail
    # The failing node, the node that saw it pass, and the one whose signature is invalid.
    assert outcome.non_signers == [EXITING, ATTACKER, FAILING]
    assert (outcome.signed, outcome.needed, outcome.active) == (7, 7, NODES)
    assert network.node(FAILING) == (STATUS_EXITED, EXIT_REMOVED)
    [tx] = network.transactions_to_staking(start)
    node_id, _timestamp, _signature, non_signers = decode(
        ["uint64", "uint256", "bytes", "uint64[]"], bytes.fromhex(tx["input"][10:])
    )
    assert (node_id, list(non_signers)) == (FAILING, [EXITING, ATTACKER, FAILING])
    [row] = aggregator.db.submissions()
    assert (row.status, row.tx_hash) == ("mined", tx["hash"])


def test_vote__too_few_agree__sends_no_transaction(network, tmp_path):
    network.views(tmp_path, agree={1, 2, 3, 4, 5, 6}, disagree={7, EXITING})
    aggregator = network.aggregator(tmp_path, "leader", account=2)
    nonce = network.nonce(2)
    start = int(network.rpc("eth_blockNumber"), 16)

    outcome = network.run(aggregator.attempt(REMOVE, FAILING, network.voters()))

    assert outcome.state == "no quorum"
    assert (outcome.signed, outcome.needed) == (6, 7)
    assert "passes this node's tests" in outcome.detail
    assert network.nonce(2) == nonce
    assert network.transactions_to_staking(start) == []
    assert network.node(FAILING) == (STATUS_ACTIVE, 0)
    assert aggregator.db.submissions() == []
    # The signers asked about a node they saw pass test it every round from now on.
    assert FAILING in network.signers[EXITING].db.watched()
    assert FAILING not in network.signers[1].db.watched() or network.signers[1].db.peer(FAILING)
    [vote] = aggregator.db.votes()
    assert (vote["state"], vote["signed"], vote["needed"]) == ("no quorum", 6, 7)


def test_vote__a_second_aggregator_sees_the_pending_transaction_and_stops(network, tmp_path):
    network.views(tmp_path, agree={1, 2, 3, 4, 5, 6, 7, EXITING})
    first = network.aggregator(tmp_path, "first", account=2, receipt_timeout=0.5)
    second = network.aggregator(tmp_path, "second", account=3)
    start = int(network.rpc("eth_blockNumber"), 16)
    second_nonce = network.nonce(3)
    network.rpc("evm_setAutomine", [False])

    sent = network.run(first.attempt(REMOVE, FAILING, network.voters()))
    assert sent.state == "submitted" and sent.tx_hash, sent.detail
    raced = network.run(second.attempt(REMOVE, FAILING, network.voters()))

    assert raced.final and raced.state == "closed"
    assert f"node {FAILING} is exited on chain" == raced.detail
    assert network.nonce(3) == second_nonce and second.db.submissions() == []
    network.rpc("evm_mine")
    done = network.run(first.attempt(REMOVE, FAILING, network.voters()))
    assert done.state == "done" and done.tx_hash == sent.tx_hash
    assert [tx["hash"] for tx in network.transactions_to_staking(start)] == [sent.tx_hash]
    assert network.node(FAILING) == (STATUS_EXITED, EXIT_REMOVED)


def test_vote__restarted_after_recording_a_submission__never_sends_a_second(network, tmp_path):
    network.views(tmp_path, agree={1, 2, 3, 4, 5, 6, 7, EXITING})
    crashed = network.aggregator(tmp_path, "node", account=2)
    network.run(crashed.clock.refresh())
    # Killed between recording the transaction and broadcasting it: nobody knows whether
    # it went out.
    timestamp = crashed.clock.now() - 5
    crashed.db.submission_begin(REMOVE, FAILING, timestamp, crashed.sender.address, [])
    restarted = network.aggregator(tmp_path, "node", account=2)
    start = int(network.rpc("eth_blockNumber"), 16)

    waiting = network.run(restarted.attempt(REMOVE, FAILING, network.voters()))
    assert (waiting.final, waiting.state) == (False, "submitted")
    assert "sent before a restart" in waiting.detail
    assert network.transactions_to_staking(start) == []

    # Once that signature has expired on chain it can never be accepted: vote again.
    network.rpc("evm_increaseTime", [SIGNATURE_EXPIRY + 1])
    network.rpc("evm_mine")
    done = network.run(restarted.attempt(REMOVE, FAILING, network.voters()))
    assert done.state == "done", done.detail
    assert [r.status for r in restarted.db.submissions()] == ["expired", "mined"]
    assert len(network.transactions_to_staking(start)) == 1


def test_exit_vote__signed_only_after_the_minimum_age(network, tmp_path):
    network.views(tmp_path, agree=set())
    aggregator = network.aggregator(tmp_path, "exiting", account=4)

    young = network.run(aggregator.attempt(EXIT, EXITING, network.voters()))
    assert young.state == "no quorum" and young.signed == 0
    assert "too young to exit" in young.detail

    network.rpc("evm_increaseTime", [MIN_EXIT_AGE + 60])
    network.rpc("evm_mine")
    done = network.run(aggregator.attempt(EXIT, EXITING, network.voters()))
    assert done.state == "done", done.detail
    assert done.non_signers == [ATTACKER, FAILING]
    assert network.node(EXITING) == (STATUS_EXITED, EXIT_NETWORK)


def test_votes__two_led_at_once_by_one_node__never_send_a_doomed_transaction(network, tmp_path):
    # The removal of one node and the fast exit of another both reach their quorum in the
    # same round of the same leader. Whichever is mined first changes the network (its
    # aggregate key, its size) the other was signed for: the other must not be sent.
    network.views(tmp_path, agree={1, 2, 3, 4, 5, 6, 7, EXITING})
    network.rpc("evm_increaseTime", [MIN_EXIT_AGE + 60])
    network.rpc("evm_mine")
    leader = network.aggregator(tmp_path, "leader", account=2)
    start = int(network.rpc("eth_blockNumber"), 16)
    voters = network.voters()

    async def both():
        return await asyncio.gather(
            leader.attempt(REMOVE, FAILING, voters), leader.attempt(EXIT, EXITING, voters)
        )

    outcomes = network.run(both())

    done = [o for o in outcomes if o.state == "done"]
    waiting = [o for o in outcomes if o.state != "done"]
    assert len(done) == 1 and len(waiting) == 1, [(o.state, o.detail) for o in outcomes]
    assert not waiting[0].final and waiting[0].tx_hash is None, waiting[0].detail
    [tx] = network.transactions_to_staking(start)
    assert int(network.rpc("eth_getTransactionReceipt", [tx["hash"]])["status"], 16) == 1

    # The next round, with the network as it now is, completes the other vote.
    gone = FAILING if outcomes[0].state == "done" else EXITING
    other = (EXIT, EXITING) if gone == FAILING else (REMOVE, FAILING)
    now = [v for v in voters if v.node_id != gone]
    retried = network.run(leader.attempt(*other, now))
    assert retried.state == "done", retried.detail
    sent = network.transactions_to_staking(start)
    assert len(sent) == 2
    statuses = [network.rpc("eth_getTransactionReceipt", [t["hash"]])["status"] for t in sent]
    assert statuses == ["0x1", "0x1"]
    assert network.node(FAILING) == (STATUS_EXITED, EXIT_REMOVED)
    assert network.node(EXITING) == (STATUS_EXITED, EXIT_NETWORK)
