"""Issue #15, scenario 6, bridge side: a vote's signature counts only the members of the
network at its timestamp — the nodes activated strictly before it. The aggregator asks,
counts for the quorum and lists as non-signers only those; a node that joins during a
round is left out, and a round the contract can no longer check (32 activations since its
timestamp) signs a fresh timestamp.

Real parts: an anvil whose blocks are mined at chosen timestamps (equal ones across
consecutive blocks, as on Arbitrum), the real staking contract for the nodes' on-chain
activation times and the submissions, signers on loopback HTTP with real BLS keys, the
real `sesh node aggregate` command. The staking contract with the new membership rule is
on another branch: the one refusal it gives that this contract cannot is produced by
`RefusedOnce` (the only stand-in here).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner
from web3 import Web3

from sesh.cli.main import main
from sesh.crypto import bls
from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.migrate.generate import old_network
from sesh.migrate.snapshot import check_snapshot, ordered
from sesh.node.chain.rpc import NoProviderError, RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker, TrackerSettings
from sesh.node.config import VotesConfig
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import StaticViews, static_view
from sesh.node.votes.aggregator import TIMESTAMP_MARGIN, Aggregator, Voter
from sesh.node.votes.chain_tx import ChainClock, Refused, StakingChain, UnlockedSender
from sesh.node.votes.db import VotesDB
from sesh.node.votes.membership import ActivationTimes
from sesh.node.votes.rules import RECENT_ACTIVATIONS, REMOVE
from sesh.node.votes.service import VotesService
from tests.node.staking_driver import (
    REQUIREMENT,
    ZERO,
    StakingDriver,
    compile_contract,
    node_keys,
)
from tests.node.votes.helpers import RegistryBuilder, node_keys_for, synced_tracker

ROOT = Path(__file__).resolve().parents[3]
STATUS_EXITED, EXIT_REMOVED = 4, 2
TOO_MANY = "staking: too many activations since signing"


def send_json(handler: BaseHTTPRequestHandler, status: int, raw: bytes) -> None:
    """Answer an http.server request with a JSON body."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


@pytest.fixture(scope="module")
def anvil():
    chain = start_anvil(chain_id=DEVNET_CHAIN_ID)
    yield chain
    chain.stop()


@pytest.fixture(scope="module")
def real_staking(anvil, staking_artifacts):
    """The real staking suite; the tests register the nodes they need in it."""
    return StakingDriver(anvil.url, staking_artifacts)


# ----- the chain


def latest_time(anvil) -> int:
    return int(anvil.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def block_time(anvil, number: int) -> int:
    return int(anvil.rpc("eth_getBlockByNumber", [hex(number), False])["timestamp"], 16)


def mine_at(anvil, timestamps: list[int]) -> list[int]:
    """One block per timestamp (never decreasing); their numbers."""
    numbers = []
    for timestamp in timestamps:
        anvil.rpc("evm_mine", [timestamp])
        numbers.append(int(anvil.rpc("eth_blockNumber"), 16))
        assert block_time(anvil, numbers[-1]) == timestamp
    return numbers


def run_with_chain(anvil, scenario: Callable):
    """`scenario(chain, pool)` on a fresh pool over the anvil, in a fresh event loop."""

    async def main_():
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=10.0)
        async with pool:
            return await scenario(StakingChain(pool, "0x" + "5e" * 20, DEVNET_CHAIN_ID), pool)

    return asyncio.run(main_())


def key_of(node_id: int) -> bytes:
    return node_keys_for(node_id).bls_pubkey.to_eip2537()


def voter(node_id: int, activated_block: int | None, endpoint: str = "127.0.0.1:1") -> Voter:
    """A voter nobody asks (membership only reads its id and activation block)."""
    return Voter(node_id, key_of(node_id % 200 + 1), endpoint, activated_block)


# ----- signers on loopback (threads: they serve the CLI's own event loop too)


class Signers:
    """The `/bls/sign` of some nodes: `honest` signs the requested remove message for
    `staking` with the node's key, `refuses` answers 403; every request's timestamp is
    recorded. Other nodes get a port nobody listens on (unreachable)."""

    def __init__(self, staking: str, behaviours: dict[int, str], keys=node_keys_for):
        self.staking = staking
        self.behaviours = dict(behaviours)
        self.keys: dict[int, NodeKeys] = {n: keys(n) for n in behaviours}
        self.asked: dict[int, list[int]] = {n: [] for n in behaviours}
        self.ports: dict[int, int] = {}
        self._servers: list[ThreadingHTTPServer] = []
        for node_id in behaviours:
            server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(node_id))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
            self.ports[node_id] = server.server_address[1]

    def _handler(self, node_id: int):
        signers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                signers.asked[node_id].append(body["timestamp"])
                if signers.behaviours[node_id] == "refuses":
                    status, answer = 403, {"error": "this node does not agree"}
                else:
                    message = bls.remove_message(
                        DEVNET_CHAIN_ID, signers.staking, body["node_id"], body["timestamp"]
                    )
                    signature = bls.sign(signers.keys[node_id].bls, message)
                    status, answer = 200, {"signature": signature.to_compressed().hex()}
                send_json(self, status, json.dumps(answer).encode())

            def log_message(self, *args):
                pass

        return Handler

    def endpoint(self, node_id: int) -> str:
        return (
            f"127.0.0.1:{self.ports[node_id]}"
            if node_id in self.ports
            else (f"127.0.0.1:{free_port()}")
        )

    def voter(self, node_id: int, activated_block: int | None) -> Voter:
        keys = self.keys.get(node_id) or node_keys_for(node_id)
        return Voter(node_id, keys.bls_pubkey.to_eip2537(), self.endpoint(node_id), activated_block)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def signers_factory():
    made: list[Signers] = []

    def make(*args, **kwargs) -> Signers:
        made.append(Signers(*args, **kwargs))
        return made[-1]

    yield make
    for signers in made:
        signers.close()


# ----- activation times: who is a member at a timestamp


def test_members__are_the_nodes_activated_strictly_before_the_timestamp__at_every_boundary(
    anvil,
):
    base = latest_time(anvil) + 100
    # Runs of consecutive blocks with one timestamp, as Arbitrum makes them.
    offsets = [0, 0, 1, 1, 1, 3, 4, 4, 7]
    blocks = mine_at(anvil, [base + o for o in offsets])
    times = {b: block_time(anvil, b) for b in blocks}
    # Three nodes per block, listed in no particular order.
    voters = [voter(n, blocks[(n * 5) % len(blocks)]) for n in range(1, 28)]

    async def scenario(chain, _pool):
        found = {}
        for timestamp in range(base - 1, base + 9):
            found[timestamp] = await ActivationTimes(chain).members(voters, timestamp)
        return found

    found = run_with_chain(anvil, scenario)
    for timestamp, membership in found.items():
        assert membership.members == [v for v in voters if times[v.activated_block] < timestamp]
        assert membership.joined_later == [
            v for v in voters if times[v.activated_block] >= timestamp
        ]
    assert found[base - 1].members == [] and found[base + 8].joined_later == []


def test_members__a_node_activated_exactly_at_the_timestamp__is_not_a_member(anvil):
    t = latest_time(anvil) + 100
    before, at, at_again, after = mine_at(anvil, [t - 1, t, t, t + 1])
    early, joined, joined_too, late = (
        voter(1, before), voter(2, at), voter(3, at_again), voter(4, after)
    )  # fmt: skip
    voters = [late, joined_too, joined, early]

    async def scenario(chain, _pool):
        activations = ActivationTimes(chain)
        return await activations.members(voters, t), await activations.members(voters, t + 1)

    at_t, a_second_later = run_with_chain(anvil, scenario)
    assert at_t.members == [early]
    assert at_t.joined_later == [late, joined_too, joined]
    assert a_second_later.members == [joined_too, joined, early]
    assert a_second_later.joined_later == [late]


def test_members__headers_fetched__one_when_nobody_joined_since__else_logarithmic__then_none(
    anvil,
):
    base = latest_time(anvil) + 100
    blocks = mine_at(anvil, [base + i // 2 for i in range(256)])
    voters = [voter(n, blocks[n % len(blocks)]) for n in range(1, 2001)]

    async def scenario(chain, _pool):
        activations = ActivationTimes(chain)
        counts = []
        for timestamp in (base + 200, base + 50, base + 50, base + 51):
            membership = await activations.members(voters, timestamp)
            counts.append((len(membership.members), activations.blocks_fetched))
        return counts, activations.nodes_fetched

    counts, nodes_fetched = run_with_chain(anvil, scenario)
    everyone, middle, again, next_second = counts
    assert everyone == (2000, 1), "nobody joined since: the newest activation block settles it"
    # base + 50 is the time of blocks[100] and blocks[101]: nodes on blocks[0..99] are members.
    assert middle[0] == sum(1 for v in voters if blocks.index(v.activated_block) < 100)
    assert middle[1] - 1 <= math.ceil(math.log2(len(blocks)))
    assert again[1] == middle[1], "the same timestamp again: every header remembered"
    assert next_second[0] == sum(1 for v in voters if blocks.index(v.activated_block) < 102)
    assert next_second[1] - again[1] <= math.ceil(math.log2(len(blocks)))
    assert nodes_fetched == 0, "no node() call when the activation blocks are known"


def test_members__an_activation_block_the_chain_does_not_have__is_a_chain_error(anvil):
    head = int(anvil.rpc("eth_blockNumber"), 16)

    async def scenario(chain, _pool):
        with pytest.raises(NoProviderError, match="eth_getBlockByNumber"):
            await ActivationTimes(chain).members([voter(1, head + 10_000)], 2**40)

    run_with_chain(anvil, scenario)


def test_members__no_voters__no_members_and_nothing_fetched(anvil):
    async def scenario(chain, _pool):
        activations = ActivationTimes(chain)
        membership = await activations.members([], latest_time(anvil))
        return membership, activations.blocks_fetched + activations.nodes_fetched

    membership, fetched = run_with_chain(anvil, scenario)
    assert (membership.members, membership.joined_later, fetched) == ([], [], 0)


def test_members__unknown_activation_blocks__are_read_once_from_the_contract(anvil, real_staking):
    staking = real_staking
    operator = staking.accounts[1]
    ids, blocks = [], []
    for index in (101, 102, 103):
        ids.append(staking.register(index, operator))
        blocks.append(staking.w3.eth.block_number)
        staking.advance(10)
    unfilled = staking.register(104, operator, stake=staking_requirement(staking) // 2)
    # The contract's activation time is the timestamp of the activation's block.
    activated_at = [staking.staking.functions.node(n).call()[7] for n in ids]
    assert activated_at == [block_time(anvil, b) for b in blocks]
    stranger = 10**6  # listed, but the contract knows no such node
    unknown = [voter(n, None) for n in ids] + [voter(unfilled, None), voter(stranger, None)]
    known = [voter(n, b) for n, b in zip(ids, blocks, strict=True)]

    async def scenario(_chain, pool):
        chain = StakingChain(pool, staking.address, DEVNET_CHAIN_ID)
        activations = ActivationTimes(chain)
        found = {}
        for timestamp in range(activated_at[0] - 1, activated_at[-1] + 2):
            found[timestamp] = (
                await activations.members(unknown, timestamp),
                await ActivationTimes(chain).members(known, timestamp),
            )
        return found, activations.nodes_fetched

    found, nodes_fetched = run_with_chain(anvil, scenario)
    for timestamp, (by_contract, by_block) in found.items():
        expected = [n for n, at in zip(ids, activated_at, strict=True) if at < timestamp]
        assert [v.node_id for v in by_contract.members] == expected
        assert [v.node_id for v in by_block.members] == expected, "both ways agree"
        later = [v.node_id for v in by_contract.joined_later]
        assert unfilled in later and stranger in later, "never activated, or unknown"
    # Each activated node asked once; the other two each time (nothing to keep).
    assert nodes_fetched == len(ids) + 2 * len(found)


def staking_requirement(staking) -> int:
    return staking.staking.functions.staking_requirement().call()


# ----- the aggregator's rounds


def leader(pool, staking_address: str, wall: Callable[[], float], tmp_path, session, sender=None):
    return Aggregator(
        StakingChain(pool, staking_address, DEVNET_CHAIN_ID),
        ChainClock(pool, wall=wall),
        VotesDB(tmp_path / "leader.sqlite3"),
        sender,
        lambda: session,
        sign_timeout=2.0,
    )


def test_round__nodes_activated_at_or_after_its_timestamp__are_not_asked_counted_or_listed(
    anvil, real_staking, tmp_path, signers_factory
):
    staking = real_staking
    target = staking.register(110, staking.accounts[1])
    wall = [latest_time(anvil) + 100]
    t = wall[0] - TIMESTAMP_MARGIN
    [before] = mine_at(anvil, [t - 1])
    behaviours = {n: "honest" for n in (2, 3, 4, 8, 9, 10)} | {n: "refuses" for n in (5, 6, 7)}
    signers = signers_factory(staking.address, behaviours)
    members = [signers.voter(n, before) for n in (2, 3, 4, 5, 6, 7)]

    async def scenario(_chain, pool):
        async with aiohttp.ClientSession() as session:
            aggregator = leader(pool, staking.address, lambda: wall[0], tmp_path, session)
            first = await aggregator.attempt(REMOVE, target, members)
            # Three nodes activate during the round (one exactly at its timestamp), which
            # keeps its timestamp: it is 30 s old.
            at, at_again, after = mine_at(anvil, [t, t, t + 1])
            joined = [signers.voter(8, at), signers.voter(9, at_again), signers.voter(10, after)]
            wall[0] += 30
            second = await aggregator.attempt(REMOVE, target, members + joined)
            asked_by_then = {n: list(a) for n, a in signers.asked.items()}
            # No quorum while nodes joined since: the next round signs a fresh timestamp,
            # at which they are members.
            signers.behaviours[6] = signers.behaviours[7] = "honest"
            wall[0] += 30
            third = await aggregator.attempt(REMOVE, target, members + joined)
            aggregator.db.close()
            return first, second, asked_by_then, third

    first, second, asked, third = run_with_chain(anvil, scenario)
    assert (first.state, first.signed, first.needed, first.active) == ("no quorum", 3, 4, 6)
    assert first.non_signers == [5, 6, 7]
    # Counted, the joiners' three signatures would have made 6 of 9: a quorum.
    assert (second.state, second.signed, second.needed, second.active) == ("no quorum", 3, 4, 6)
    assert second.non_signers == [5, 6, 7]
    assert f"3 joined at or after the timestamp {t}: not counted" in second.detail
    assert asked[8] == asked[9] == asked[10] == [], "never asked at a timestamp before them"
    assert asked[2] == [t] and asked[5] == [t, t], "signatures kept, refusals asked again"
    fresh = t + 60
    assert (third.state, third.signed, third.needed, third.active) == ("quorum", 8, 6, 9)
    assert third.non_signers == [5]
    assert signers.asked[8] == signers.asked[2][1:] == [fresh]
    assert "quorum reached, but this node has no submitter" in third.detail


@pytest.mark.parametrize(
    ("joined", "renewed"),
    [(RECENT_ACTIVATIONS - 1, False), (RECENT_ACTIVATIONS, True)],
    ids=["31 since its timestamp: kept", "32 since its timestamp: a fresh one"],
)
def test_round__as_many_activations_since_its_timestamp_as_the_contract_remembers__signs_anew(
    anvil, real_staking, tmp_path, signers_factory, joined, renewed
):
    staking = real_staking
    target = staking.register(120 + joined, staking.accounts[1])
    wall = [latest_time(anvil) + 100]
    t = wall[0] - TIMESTAMP_MARGIN
    [before] = mine_at(anvil, [t - 1])
    signers = signers_factory(staking.address, {2: "honest", 3: "honest", 4: "refuses"})
    members = [signers.voter(n, before) for n in (2, 3, 4)]

    async def scenario(_chain, pool):
        async with aiohttp.ClientSession() as session:
            aggregator = leader(pool, staking.address, lambda: wall[0], tmp_path, session)
            first = await aggregator.attempt(REMOVE, target, members)
            blocks = mine_at(anvil, [t, t + 1])
            newcomers = [signers.voter(100 + i, blocks[i % 2]) for i in range(joined)]
            wall[0] += 60  # young enough to keep (TIMESTAMP_REUSE)
            second = await aggregator.attempt(REMOVE, target, members + newcomers)
            [vote] = aggregator.db.votes()
            aggregator.db.close()
            return first, second, vote

    first, second, vote = run_with_chain(anvil, scenario)
    assert (first.state, first.signed, first.active) == ("quorum", 2, 3)
    if renewed:
        fresh = t + 60
        assert vote["timestamp"] == fresh
        assert signers.asked[2] == signers.asked[3] == [t, fresh]
        # At the fresh timestamp the newcomers are members; none answers.
        assert (second.state, second.signed, second.active) == ("no quorum", 2, 3 + joined)
        assert second.non_signers == [4] + [100 + i for i in range(joined)]
    else:
        assert vote["timestamp"] == t
        assert signers.asked[2] == signers.asked[3] == [t], "kept with their signatures"
        assert (second.state, second.signed, second.active) == ("quorum", 2, 3)
        assert second.non_signers == [4]


class RefusedOnce(StakingChain):
    """This branch's staking contract, except that its first simulation answers as the
    contract with the membership rule does when the activations it remembers all came at
    or after the signature's timestamp."""

    refusals = 0

    async def simulate(self, sender: str, data: bytes) -> None:
        if not self.refusals:
            self.refusals += 1
            raise Refused(TOO_MANY)
        await super().simulate(sender, data)


def test_submission_refused_for_too_many_activations_since_signing__signs_a_fresh_timestamp(
    anvil, staking_artifacts, tmp_path, signers_factory
):
    network = StakingDriver(anvil.url, staking_artifacts)
    ids, blocks = [], []
    for index in (201, 202, 203, 204):
        ids.append(network.register(index, network.accounts[1]))
        blocks.append(network.w3.eth.block_number)
    network.advance(60)
    failing = ids[-1]
    index_of = dict(zip(ids, (201, 202, 203, 204), strict=True))
    signers = signers_factory(
        network.address,
        {n: "honest" for n in ids[:-1]},
        keys=lambda n: node_keys(index_of[n]),
    )
    voters = [signers.voter(n, b) for n, b in zip(ids, blocks, strict=True)]
    voters[-1] = Voter(
        failing, node_keys(204).bls_pubkey.to_eip2537(), signers.endpoint(failing), blocks[-1]
    )

    async def scenario(_chain, pool):
        chain = RefusedOnce(pool, network.address, DEVNET_CHAIN_ID)
        async with aiohttp.ClientSession() as session:
            aggregator = Aggregator(
                chain,
                ChainClock(pool),
                VotesDB(tmp_path / "leader.sqlite3"),
                UnlockedSender(network.accounts[2]),
                lambda: session,
                sign_timeout=2.0,
                receipt_timeout=30.0,
            )
            refused = await aggregator.attempt(REMOVE, failing, voters)
            logged = aggregator.db.submissions()
            network.advance(10)
            done = await aggregator.attempt(REMOVE, failing, voters)
            [row] = aggregator.db.submissions()
            aggregator.db.close()
            return refused, logged, done, row

    refused, logged, done, row = run_with_chain(anvil, scenario)
    assert (refused.final, refused.state) == (False, "failed")
    assert refused.detail == f"the contract refuses it: {TOO_MANY}"
    assert logged == [], "nothing sent"
    assert done.state == "done", done.detail
    first, second = signers.asked[ids[0]]
    assert second >= first + 10, "signed again at a fresh timestamp"
    assert all(signers.asked[n] == [first, second] for n in ids[:-1])
    assert (row.status, row.timestamp, row.non_signers) == ("mined", second, [failing])
    view = network.staking.functions.node(failing).call()
    assert (view[1], view[3]) == (STATUS_EXITED, EXIT_REMOVED)


# ----- where the voters come from: the bridge's registry, `sesh node aggregate`


def test_snapshot__voters_carry_the_registry_activation_blocks(tmp_path, anvil):
    build = RegistryBuilder()
    for node_id in (1, 2, 3):
        build.add(node_id, node_keys_for(node_id), f"127.0.0.1:{21000 + node_id}")
    build.add(4, node_keys_for(4), "127.0.0.1:21004", activate=False)
    build.request_exit(2)
    tracker = synced_tracker(tmp_path, anvil.url, build.registry)
    keys = node_keys_for(1)
    identity = NodeIdentity.from_seed(bytes(keys.ed25519), keys.bls)
    pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
    service = VotesService(
        VotesConfig(),
        identity,
        tracker,
        StaticViews(static_view([], identity.ed25519_pubkey)),
        VotesDB(tmp_path / "votes.sqlite3"),
        StakingChain(pool, "0x" + "5e" * 20, DEVNET_CHAIN_ID),
        ChainClock(pool),
        None,
        Metrics(),
    )
    try:
        snap = asyncio.run(service.snapshot())
    finally:
        service.close()
        tracker.close()
        tracker.store.close()
    registry = build.registry.nodes
    assert [(v.node_id, v.activated_block) for v in snap.voters] == [
        (n, registry[n].activated_block) for n in (1, 2, 3)
    ]
    assert all(v.activated_block is not None for v in snap.voters)
    assert registry[4].activated_block is None and 4 not in [v.node_id for v in snap.voters]


def serve_listing(listing: dict) -> ThreadingHTTPServer:
    raw = json.dumps(listing).encode()

    class Bridge(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            send_json(self, 200, raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bridge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_aggregate_cli__counts_only_the_nodes_activated_before_its_timestamp(
    anvil, real_staking, tmp_path, signers_factory
):
    staking = real_staking
    target = staking.register(130, staking.accounts[1])
    target_block = staking.w3.eth.block_number
    signers = signers_factory(staking.address, {2: "honest", 3: "honest", 4: "honest"})
    # A node activated in a block a few seconds ahead of the chain's clock: after any
    # timestamp the command can sign (now - 5 s) as long as it signs within 5 s.
    [ahead] = mine_at(anvil, [max(latest_time(anvil), int(time.time())) + 1000])

    def listed(v: Voter, status: str = "active", **extra) -> dict:
        return {"node_id": v.node_id, "bls_pubkey": v.bls_pubkey.hex(), "endpoint": v.endpoint,
                "status": status, **extra}  # fmt: skip

    nodes = [
        # An older bridge's listing of the target: no activation block (the contract says).
        listed(signers.voter(target, None)),
        *(listed(signers.voter(n, target_block), activated_block=target_block) for n in (2, 3, 4)),
        listed(signers.voter(5, ahead), activated_block=ahead),
        listed(signers.voter(6, None), status="open", activated_block=None),
    ]
    bridge = serve_listing({"synced_block": ahead, "nodes": nodes})
    config = tmp_path / "node.toml"
    config.write_text(
        f"""
[chain]
chain_id = {DEVNET_CHAIN_ID}
providers = ["{anvil.url}"]
[contracts]
staking = "{staking.address}"
start_block = 0
[node]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:{free_port()}"
ed25519_pubkey = "{"ab" * 32}"
"""
    )
    try:
        result = CliRunner().invoke(
            main,
            ["node", "aggregate", "--config", str(config), "--dry-run", "--wait", "0.5",
             "--bridge", f"http://127.0.0.1:{bridge.server_address[1]}",
             "--action", "remove", "--node-id", str(target)],
        )  # fmt: skip
    finally:
        bridge.shutdown()
        bridge.server_close()
    # Counted, node 5 (unreachable) would leave 3 of 5 signed, 4 needed: no quorum.
    assert result.exit_code == 0, result.output
    assert "quorum: quorum reached, but this node has no submitter" in result.output
    assert f"non-signers: {target}\n" in result.output
    for node_id in (2, 3, 4):
        assert signers.asked[node_id], "the members were asked"
        assert all(t <= block_time(anvil, ahead) for t in signers.asked[node_id])


# ----- against the contract's membership rule


@pytest.mark.parametrize("registry", ["behind the chain", "caught up"])
def test_vote__a_node_activated_between_signing_and_submission__does_not_stop_it(
    anvil, staking_artifacts, tmp_path, signers_factory, registry
):
    network = StakingDriver(anvil.url, staking_artifacts)
    indices = (301, 302, 303, 304, 305)
    ids, blocks = [], []
    for index in indices[:4]:
        ids.append(network.register(index, network.accounts[1]))
        blocks.append(network.w3.eth.block_number)
    network.advance(60)
    failing, newcomer = ids[-1], ids[-1] + 1
    index_of = dict(zip([*ids, newcomer], indices, strict=True))
    signers = signers_factory(
        network.address,
        {n: "honest" for n in [*ids[:-1], newcomer]},
        keys=lambda n: node_keys(index_of[n]),
    )
    voters = [signers.voter(n, b) for n, b in zip(ids, blocks, strict=True)]

    async def scenario(_chain, pool):
        async with aiohttp.ClientSession() as session:
            aggregator = Aggregator(
                StakingChain(pool, network.address, DEVNET_CHAIN_ID),
                ChainClock(pool),
                VotesDB(tmp_path / "leader.sqlite3"),
                None,
                lambda: session,
                sign_timeout=2.0,
                receipt_timeout=30.0,
            )
            collected = await aggregator.attempt(REMOVE, failing, voters)
            [vote] = aggregator.db.votes()
            # A node activates after the signatures were collected, before submission.
            assert network.register(indices[4], network.accounts[1]) == newcomer
            activated = network.w3.eth.block_number
            assert block_time(anvil, activated) >= vote["timestamp"]
            now = voters + ([signers.voter(newcomer, activated)] if registry == "caught up" else [])
            aggregator.sender = UnlockedSender(network.accounts[2])
            done = await aggregator.attempt(REMOVE, failing, now)
            rows = aggregator.db.submissions()
            aggregator.db.close()
            return collected, vote, done, rows

    collected, vote, done, rows = run_with_chain(anvil, scenario)
    assert collected.state == "quorum" and collected.non_signers == [failing]
    assert done.state == "done", done.detail
    [row] = rows
    assert (row.timestamp, row.non_signers) == (vote["timestamp"], [failing])
    assert signers.asked[newcomer] == [], "neither asked nor listed"
    assert all(signers.asked[n] == [vote["timestamp"]] for n in ids[:-1]), "signed once"
    view = network.staking.functions.node(failing).call()
    assert (view[1], view[3]) == (STATUS_EXITED, EXIT_REMOVED)


def deploy(w3, artifact, *args):
    abi, bytecode = artifact
    tx = (
        w3.eth.contract(abi=abi, bytecode=bytecode)
        .constructor(*args)
        .transact({"from": w3.eth.accounts[0]})
    )
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return w3.eth.contract(address=address, abi=abi)


def send(w3, call) -> int:
    """Send from the owner; the block it was mined in."""
    receipt = w3.eth.wait_for_transaction_receipt(
        call.transact({"from": w3.eth.accounts[0], "gas": 20_000_000})
    )
    assert receipt["status"] == 1, call.fn_name
    return receipt["blockNumber"]


def test_members__seeded_nodes__count_from_their_seeding_block(anvil, tmp_path):
    # Seeding logs `NodeActivated` in its batch's transaction: the registry gives seeded
    # nodes an activation block like any other, and the contract's activation time is
    # that block's timestamp.
    names = ("SessionToken", "RewardRatePool", "BLSVerifier", "ServiceNodeStakingExtension")
    artifacts = {name: compile_contract(name) for name in (*names, "ServiceNodeStaking")}
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))
    token = deploy(w3, artifacts["SessionToken"], w3.eth.accounts[0], ZERO, ZERO)
    pool = deploy(w3, artifacts["RewardRatePool"], token.address)
    verifier = deploy(w3, artifacts["BLSVerifier"])
    suite = (token.address, pool.address, verifier.address)
    extension = deploy(w3, artifacts["ServiceNodeStakingExtension"], *suite)
    staking = deploy(w3, artifacts["ServiceNodeStaking"], *suite, extension.address, True)
    deploy_block = w3.eth.block_number
    send(w3, token.functions.approve(staking.address, 2**256 - 1))
    snapshot = old_network(8, DEVNET_CHAIN_ID, staking.address, REQUIREMENT).snapshot
    report = check_snapshot(snapshot, DEVNET_CHAIN_ID, staking.address, REQUIREMENT)
    assert report.ok, report.lines()
    nodes = ordered(report.nodes)
    seeding = w3.eth.contract(
        address=staking.address, abi=artifacts["ServiceNodeStakingExtension"][0]
    )
    first_batch = send(w3, seeding.functions.seed_nodes([n.args() for n in nodes[:4]]))
    anvil.rpc("evm_increaseTime", [30])
    second_batch = send(w3, seeding.functions.seed_nodes([n.args() for n in nodes[4:]]))
    anvil.rpc("evm_increaseTime", [30])
    anvil.rpc("evm_mine")

    identity = Identity(DEVNET_CHAIN_ID, (staking.address.lower(),), deploy_block)
    tracker = ChainTracker(
        RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics(), timeout=5.0),
        Store(tmp_path / "bridge.sqlite3", identity),
        [staking.address],
        Metrics(),
        TrackerSettings(confirmations=0, max_block_range=50, poll_interval=0.05),
    )

    async def sync():
        async with tracker.pool:
            await tracker.sync_once()

    try:
        asyncio.run(sync())
        registry = tracker.registry.nodes
    finally:
        tracker.close()
        tracker.store.close()
    seeded = [n for n in registry.values() if n.status == "active"]
    batch_of = {n.node_id: n.activated_block for n in seeded}
    assert sorted(set(batch_of.values())) == [first_batch, second_batch], "active nodes in both"
    for node in seeded:
        activated_at = staking.functions.node(node.node_id).call()[7]
        assert activated_at == block_time(anvil, node.activated_block)
    voters = [Voter(n.node_id, n.bls_pubkey, n.endpoint, n.activated_block) for n in seeded]

    async def scenario(chain, _pool):
        return await ActivationTimes(chain).members(voters, block_time(anvil, second_batch))

    membership = run_with_chain(anvil, scenario)
    assert [v.node_id for v in membership.members] == [
        n for n, block in batch_of.items() if block == first_batch
    ]
    assert [v.node_id for v in membership.joined_later] == [
        n for n, block in batch_of.items() if block == second_batch
    ]
