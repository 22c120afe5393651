"""`make devnet`'s story in CI: the suite deployed by the devnet's code on an anvil of its
own, twelve service nodes registered (some delegated) with a bridge process each, and
the same story `make devnet` tells — names, Pro, an onion-routed message, a node killed
and voted out on chain, swarms healing, a day of rewards claimed. Then, on the same
network, the aggregator of a vote is killed in the middle of it: another node completes
the vote and the chain sees exactly one transaction."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_abi import decode
from eth_utils import keccak
from rich.console import Console

from sesh.deploy.manifest import Manifest
from sesh.devnet.chain import DEVNET_CHAIN_ID, Anvil, free_port, start_anvil
from sesh.devnet.network import DEVNET_VOTES
from sesh.devnet.processes import wait_until
from sesh.devnet.runner import (
    Devnet,
    anvil_accounts,
    connected,
    deploy_devnet,
    start_nodes_and_story,
)
from sesh.node.votes.chain_tx import NODE_VIEW_TYPE

NODES = 12
LOCAL_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "local.toml"
REMOVE_SELECTOR = keccak(text="remove_with_signature(uint64,uint256,bytes,uint64[])")[:4]
STATUS_EXITED, EXIT_REMOVED = 4, 2


@dataclass
class Running:
    devnet: Devnet
    anvil: Anvil
    console: Console

    @property
    def network(self):
        return self.devnet.network

    @property
    def story(self):
        return self.devnet.story

    def rpc(self, method: str, params: list | None = None):
        return self.anvil.rpc(method, params or [])

    def staking(self) -> str:
        return Manifest.read(self.network.manifest).address("ServiceNodeStaking")


@pytest.fixture(autouse=True)
def _function_isolation():
    """Ape's per-test chain snapshot, off here: these tests run with Ape connected to the
    devnet's own anvil, where a failed snapshot would switch Ape's isolation off for the
    rest of the session (every later test would then share one chain state)."""
    yield


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("devnet")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID, accounts=anvil_accounts(NODES))
    console = Console(width=100, force_terminal=False, record=True)
    started = None
    try:
        with connected(anvil.url):
            manifest = deploy_devnet(anvil.url, tmp / "deployments", LOCAL_CONFIG, console)
            started = start_nodes_and_story(
                anvil.url,
                manifest,
                console,
                NODES,
                [free_port() for _ in range(NODES)],
                tmp / "nodes",
                anvil.rpc,
                run_story=False,
            )
            yield Running(started, anvil, console)
    finally:
        if started is not None:
            started.stop()
        anvil.stop()


def test_devnet__the_story_runs_end_to_end(devnet):
    story = devnet.story
    before = {n.node_id for n in devnet.network.live}
    result = story.run()
    summary = story.summary()

    # Every step checked its own outcome (StoryError otherwise); what it left behind:
    assert result.killed in before and result.killed not in {n.node_id for n in devnet.network.live}
    assert story.suite.staking.node(result.killed).exit_reason == EXIT_REMOVED
    members = {n for swarm in result.swarms_after.values() for n in swarm}
    assert members == before - {result.killed}
    assert result.non_signers and result.killed in result.non_signers
    assert len(result.non_signers) * 3 <= len(before)
    assert result.removal_submitter in before - {result.killed}
    assert [role for role, _address, amount in result.claims if amount > 0] == [
        "operator",
        "delegator",
    ]
    assert result.distributed > 0
    assert summary.row_count > NODES
    text = devnet.console.export_text()
    assert "removed on chain by remove_with_signature" in text
    assert "alice fetches again" in text
    # bob's voice note crossed 3 hops to the file server and back to alice byte for byte.
    assert result.voice_note and result.voice_note_bytes > 40_000
    assert "identical, byte for byte" in " ".join(text.split())


def test_devnet__the_aggregator_killed_mid_vote__another_node_completes_it_once(devnet):
    network, rpc = devnet.network, devnet.rpc
    swarms = network.wait_agreement(int(rpc("eth_blockNumber"), 16))
    swarm = max(swarms.values(), key=len)
    failing, first, second = max(swarm), swarm[0], swarm[1]
    start = int(rpc("eth_blockNumber"), 16)

    network.by_id(failing).process.kill()

    def first_leads_a_vote():
        votes = network.by_id(first).process.get("/votes")["votes"]
        return any(
            v["node_id"] == failing and v["action"] == "remove" and v["rounds"] >= 1
            and v["state"] in ("collecting", "no quorum")
            for v in votes
        )  # fmt: skip

    wait_until(first_leads_a_vote, 60, f"node {first} to lead the vote on node {failing}")
    network.by_id(first).process.kill()
    killed_at = time.monotonic()

    def removed():
        view = _node_view(devnet, failing)
        return view[1] == STATUS_EXITED and view

    view = wait_until(removed, 120, f"node {failing} to be removed", interval=0.5)
    assert view[3] == EXIT_REMOVED
    # Completed by the next in line, within a few rounds of the remaining failure period.
    assert time.monotonic() - killed_at < DEVNET_VOTES["remove_after"] + 60
    sent = _removals_of(devnet, failing, start)
    assert len(sent) == 1, sent
    [(sender, status)] = sent
    assert status == 1
    assert sender == network.by_id(second).submitter.lower()
    # The killed aggregator had sent nothing: its log holds no submission for the node.
    log = sqlite3.connect(network.by_id(first).process.directory / "data" / "votes.sqlite3")
    query = "SELECT COUNT(*) FROM submissions WHERE node_id = ?"
    assert log.execute(query, (failing,)).fetchone() == (0,)

    def logged():
        rows = network.by_id(second).process.get("/votes")["submissions"]
        mine = [(r["node_id"], r["status"]) for r in rows if r["node_id"] == failing]
        return mine if mine != [(failing, "sent")] else None

    assert wait_until(logged, 30, "the receipt in the log") == [(failing, "mined")]


def _node_view(devnet: Running, node_id: int) -> tuple:
    data = keccak(text="node(uint64)")[:4] + node_id.to_bytes(32, "big")
    raw = devnet.rpc("eth_call", [{"to": devnet.staking(), "data": "0x" + data.hex()}, "latest"])
    return decode([NODE_VIEW_TYPE], bytes.fromhex(raw[2:]))[0]


def _removals_of(devnet: Running, node_id: int, since: int) -> list[tuple[str, int]]:
    """(sender, receipt status) of every remove_with_signature of `node_id` since `since`."""
    staking = devnet.staking().lower()
    found = []
    head = int(devnet.rpc("eth_blockNumber"), 16)
    for number in range(since + 1, head + 1):
        for tx in devnet.rpc("eth_getBlockByNumber", [hex(number), True])["transactions"]:
            data = bytes.fromhex(tx["input"][2:])
            if (tx.get("to") or "").lower() != staking or data[:4] != REMOVE_SELECTOR:
                continue
            if decode(["uint64"], data[4:36])[0] == node_id:
                receipt = devnet.rpc("eth_getTransactionReceipt", [tx["hash"]])
                found.append((tx["from"].lower(), int(receipt["status"], 16)))
    return found
