"""The aggregator without a staking contract: the quorum at its boundary, collecting
signatures from signers on loopback HTTP (honest ones, one signing another message, one
refusing, one unreachable, malformed answers), and the submission log keeping a reopened
aggregator from sending a second transaction. An anvil gives the chain's clock."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

from sesh.crypto import bls
from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port, start_anvil
from sesh.node.chain.rpc import RpcPool
from sesh.node.metrics import Metrics
from sesh.node.votes.aggregator import Aggregator, Voter
from sesh.node.votes.chain_tx import ChainClock, StakingChain
from sesh.node.votes.db import VotesDB
from sesh.node.votes.rules import REMOVE, SIGNATURE_EXPIRY, max_non_signers, non_signers, quorum
from tests.node.votes.helpers import STAKING, node_keys_for

TARGET = 20
SENDER = "0x" + "5a" * 20
MESSAGES = {"exit": bls.exit_message, "remove": bls.remove_message}
MESSAGES["liquidate"] = bls.liquidate_message


# ----- quorum (pure)


def contract_accepts(active: int, signers: int) -> bool:
    """ServiceNodeStaking's rule: `len(non_signers) * 3 <= active_nodes`."""
    return (active - signers) * 3 <= active


@pytest.mark.parametrize("active", range(1, 41))
def test_quorum__is_the_fewest_signers_the_contract_accepts(active):
    needed = quorum(active)
    assert contract_accepts(active, needed)
    assert not contract_accepts(active, needed - 1)
    assert max_non_signers(active) == active - needed


def test_quorum__exactly_two_thirds_holds_and_one_less_does_not():
    assert quorum(9) == 6 and quorum(12) == 8 and quorum(3) == 2
    assert quorum(10) == 7, "7 of 10: 3 non-signers, 3 * 3 <= 10"
    assert quorum(1) == 1 and quorum(2) == 2


def test_non_signers__are_sorted_unique_and_only_active_nodes():
    active = [9, 3, 5, 3, 12, 1]
    assert non_signers(active, [12, 12, 1, 40]) == [3, 5, 9]
    assert non_signers(active, []) == [1, 3, 5, 9, 12]
    assert non_signers(active, active) == []


# ----- collecting over HTTP


def signer_app(node_id: int, behaviour: str) -> web.Application:
    """A node's /bls/sign: `honest` signs the requested DESIGN message, `wrong` signs
    another one, `refuses` answers 403 with a reason, `garbage` answers 200 without a
    usable signature, `crashes` answers 500 with a text page, `text` 200 with one."""
    secret = node_keys_for(node_id).bls

    async def sign(request: web.Request) -> web.Response:
        body = await request.json()
        if behaviour == "refuses":
            error = {"error": f"node {TARGET} passes this node's tests"}
            return web.json_response(error, status=403)
        if behaviour == "garbage":
            return web.json_response({"signature": "not hex"})
        if behaviour == "crashes":
            return web.Response(text="500 Internal Server Error", status=500)
        if behaviour == "text":
            return web.Response(text="signed, honestly")
        message = MESSAGES[body["action"]](
            DEVNET_CHAIN_ID, STAKING, body["node_id"], body["timestamp"]
        )
        if behaviour == "wrong":
            message = MESSAGES[body["action"]](
                DEVNET_CHAIN_ID, STAKING, body["node_id"], body["timestamp"] + 1
            )
        return web.json_response({"signature": bls.sign(secret, message).to_compressed().hex()})

    app = web.Application()
    app.router.add_post("/bls/sign", sign)
    return app


async def serve_signers(behaviours: dict[int, str]) -> tuple[list[Voter], list[web.AppRunner]]:
    voters, runners = [], []
    for node_id, behaviour in behaviours.items():
        port = free_port()
        key = node_keys_for(node_id).bls_pubkey.to_eip2537()
        voters.append(Voter(node_id, key, f"127.0.0.1:{port}"))
        if behaviour == "dead":
            continue
        if behaviour == "bad key":
            voters[-1] = Voter(node_id, b"\x01" * 128, f"127.0.0.1:{port}")
            behaviour = "honest"
        runner = web.AppRunner(signer_app(node_id, behaviour), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    return voters, runners


@pytest.fixture(scope="module")
def anvil():
    chain = start_anvil(chain_id=DEVNET_CHAIN_ID)
    yield chain
    chain.stop()


def aggregator(pool: RpcPool, db: VotesDB, session: aiohttp.ClientSession) -> Aggregator:
    chain = StakingChain(pool, STAKING, DEVNET_CHAIN_ID)
    return Aggregator(chain, ChainClock(pool), db, None, lambda: session, sign_timeout=2.0)


def test_collect__keeps_valid_signatures_and_lists_every_other_node_as_a_non_signer(
    tmp_path, anvil
):
    behaviours = {1: "honest", 2: "honest", 3: "wrong", 4: "honest", 5: "refuses"}
    behaviours |= {6: "dead", 7: "garbage", 8: "bad key", 9: "honest", 10: "honest"}
    behaviours |= {11: "crashes", 12: "text"}
    metrics = Metrics()

    async def scenario():
        voters, runners = await serve_signers(behaviours)
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
        db = VotesDB(tmp_path / "votes.sqlite3")
        async with pool, aiohttp.ClientSession() as session:
            leader = aggregator(pool, db, session)
            leader.metrics = metrics
            await leader.clock.refresh()
            vote = leader._round(REMOVE, TARGET)
            await leader._collect(REMOVE, TARGET, vote, voters)
        for runner in runners:
            await runner.cleanup()
        db.close()
        return vote

    vote = asyncio.run(scenario())
    honest = [n for n, b in behaviours.items() if b == "honest"]
    assert sorted(vote.signatures) == honest
    assert vote.refusals[3] == "invalid signature"
    assert vote.refusals[5] == f"HTTP 403: node {TARGET} passes this node's tests"
    assert vote.refusals[6].startswith("unreachable (")
    assert vote.refusals[7] == "malformed signature"
    assert vote.refusals[8] == "registered BLS key unusable"
    assert vote.refusals[11] == "HTTP 500: refused", "answered: not unreachable"
    assert vote.refusals[12] == "malformed answer (not a JSON object)"
    assert metrics.get("sesh_votes_invalid_signatures_total") == 1
    assert non_signers(behaviours, vote.signatures) == [3, 5, 6, 7, 8, 11, 12]
    assert len(vote.signatures) == 5 < quorum(len(behaviours))
    # What is kept aggregates into a signature of the vote's DESIGN message by the signers.
    message = bls.remove_message(DEVNET_CHAIN_ID, STAKING, TARGET, vote.timestamp)
    assert vote.message == message
    keys = [node_keys_for(n).bls_pubkey for n in honest]
    aggregate = bls.aggregate_signatures([vote.signatures[n] for n in honest])
    assert bls.verify(bls.aggregate_public_keys(keys), message, aggregate)


def test_collect__a_signer_that_fixes_itself__is_kept_on_the_next_round(tmp_path, anvil):
    async def scenario():
        voters, runners = await serve_signers({1: "honest", 2: "refuses"})
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
        async with pool, aiohttp.ClientSession() as session:
            leader = aggregator(pool, VotesDB(tmp_path / "votes.sqlite3"), session)
            await leader.clock.refresh()
            vote = leader._round(REMOVE, TARGET)
            await leader._collect(REMOVE, TARGET, vote, voters)
            assert sorted(vote.signatures) == [1] and 2 in vote.refusals
            await runners[1].cleanup()
            runners[1] = web.AppRunner(signer_app(2, "honest"), access_log=None)
            await runners[1].setup()
            await web.TCPSite(runners[1], "127.0.0.1", voters[1].url.rsplit(":", 1)[1]).start()
            assert leader._round(REMOVE, TARGET) is vote, "same timestamp while it is fresh"
            await leader._collect(REMOVE, TARGET, vote, voters[1:])
            assert sorted(vote.signatures) == [1, 2] and vote.refusals == {}
            leader.db.close()
        for runner in runners:
            await runner.cleanup()

    asyncio.run(scenario())


# ----- never twice


def log_then_reopen(tmp_path, status: str, timestamp: int, tx_hash: str | None = None) -> None:
    first = VotesDB(tmp_path / "votes.sqlite3")
    row = first.submission_begin(REMOVE, TARGET, timestamp, SENDER, [3])
    if status != "sending":
        first.submission_update(row, status, tx_hash=tx_hash)
    first.close()


@pytest.mark.parametrize(
    ("status", "tx_hash", "detail"),
    [
        ("sending", None, "waiting for a transaction sent before a restart"),
        ("sent", "0x" + "ab" * 32, "waiting for 0x" + "ab" * 32),
    ],
)
def test_reopened_log__an_open_submission_blocks_a_second_one(
    tmp_path, anvil, status, tx_hash, detail
):
    log_then_reopen(tmp_path, status, int(time.time()) - 5, tx_hash)

    async def scenario():
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
        async with pool, aiohttp.ClientSession() as session:
            leader = aggregator(pool, VotesDB(tmp_path / "votes.sqlite3"), session)
            outcome = await leader.attempt(REMOVE, TARGET, [])
            [row] = leader.db.submissions()
            [vote] = leader.db.votes()
            leader.db.close()
            return outcome, row, vote

    outcome, row, vote = asyncio.run(scenario())
    assert (outcome.final, outcome.state, outcome.detail) == (False, "submitted", detail)
    assert row.status == status, "the log row is left as it was"
    assert (vote["state"], vote["detail"]) == ("submitted", detail)


def test_reopened_log__a_mined_submission_ends_the_vote(tmp_path, anvil):
    tx_hash = "0x" + "cd" * 32
    log_then_reopen(tmp_path, "mined", int(time.time()) - 5, tx_hash)

    async def scenario():
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
        async with pool, aiohttp.ClientSession() as session:
            leader = aggregator(pool, VotesDB(tmp_path / "votes.sqlite3"), session)
            outcome = await leader.attempt(REMOVE, TARGET, [])
            leader.db.close()
            return outcome

    outcome = asyncio.run(scenario())
    assert (outcome.final, outcome.state, outcome.tx_hash) == (True, "done", tx_hash)


def test_reopened_log__an_expired_submission_no_longer_blocks(tmp_path, anvil):
    stale = int(time.time()) - SIGNATURE_EXPIRY - 30
    log_then_reopen(tmp_path, "sending", stale)

    async def scenario():
        pool = RpcPool([anvil.url], DEVNET_CHAIN_ID, Metrics())
        async with pool, aiohttp.ClientSession() as session:
            leader = aggregator(pool, VotesDB(tmp_path / "votes.sqlite3"), session)
            await leader.clock.refresh()
            blocking = await leader._logged(REMOVE, TARGET)
            rows = leader.db.submissions()
            leader.db.close()
            return blocking, rows

    blocking, rows = asyncio.run(scenario())
    assert blocking is None
    assert [r.status for r in rows] == ["expired"]
