"""`sesh migrate nodes` as the people running the move run it, on its own anvil with the
suite deployed to seed: a bad snapshot is refused before anything is sent, naming the
node; a run killed mid-seeding and run again ends as an uninterrupted run; then started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from eth_abi import decode
from eth_utils import keccak

from sesh.deploy.manifest import Manifest
from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil
from sesh.migrate.generate import old_network
from tests.cli.conftest import BIN, ROOT

REQUIREMENT = 25_000 * 10**9
COUNT, BATCH = 24, 4
NODE_VIEW = "(address,uint8,uint16,uint8,uint256,uint256,uint256,uint256,uint256,uint256,uint16,uint256,bytes)"  # noqa: E501


@pytest.fixture(scope="module")
def seeding_chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("migrate")
    config = (
        (ROOT / "deploy" / "local.toml").read_text().replace("seeding = false", "seeding = true")
    )
    (tmp / "seeding.toml").write_text(config)
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    try:
        result = subprocess.run(
            ["ape", "run", "deploy", "all", "--network", f"arbitrum:devnet:{anvil.url}",
             "--deployments-dir", str(tmp / "deployments"), "--config", str(tmp / "seeding.toml")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        manifest = Manifest.load(DEVNET_CHAIN_ID, tmp / "deployments")
        staking = manifest.address("ServiceNodeStaking")
        network = old_network(COUNT, DEVNET_CHAIN_ID, staking, REQUIREMENT, seed="cli")
        (tmp / "snapshot.json").write_text(json.dumps(network.snapshot))
        yield anvil, tmp, staking, network.snapshot, env
    finally:
        anvil.stop()


def call(anvil, to, signature, types=(), args=(), returns=("uint256",)):
    from eth_abi import encode

    data = keccak(text=signature)[:4] + encode(list(types), list(args))
    result = anvil.rpc("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
    return decode(list(returns), bytes.fromhex(result[2:]))


def migrate_cmd(anvil, tmp, snapshot: Path, *extra):
    return [
        "sesh", "migrate", "nodes", str(snapshot), "--network", f"arbitrum:devnet:{anvil.url}",
        "--deployments-dir", str(tmp / "deployments"), "--account", "TEST::0",
        "--batch", str(BATCH), *extra,
    ]  # fmt: skip


def chain_state(anvil, staking):
    count = call(anvil, staking, "node_count()")[0]
    nodes = []
    for node_id in range(1, count + 1):
        (view,) = call(anvil, staking, "node(uint64)", ["uint64"], [node_id], [NODE_VIEW])
        # activated_at is the block's time: the one field two runs cannot share.
        nodes.append(view[:7] + view[8:])
    return {
        "count": count,
        "active": call(anvil, staking, "active_nodes()")[0],
        "aggregate": call(anvil, staking, "aggregate_pubkey()", returns=["bytes"])[0],
        "seeding": call(anvil, staking, "seeding()", returns=["bool"])[0],
        "nodes": nodes,
    }


def test_migrate__bad_snapshots__are_refused_before_anything_is_sent(seeding_chain):
    anvil, tmp, staking, snapshot, env = seeding_chain
    bad = json.loads(json.dumps(snapshot))
    states = bad["service_node_states"]
    states[3]["pop_bls"] = states[4]["pop_bls"]  # forged proof
    states[6]["pubkey_bls"], states[6]["pop_bls"] = states[7]["pubkey_bls"], states[7]["pop_bls"]
    states[9]["contributors"][0]["amount"] = REQUIREMENT + 1  # stake above the requirement
    states[11]["operator_address"] = states[11]["contributors"][0]["address"] = "old-ghost"
    (tmp / "bad.json").write_text(json.dumps(bad))
    result = subprocess.run(
        migrate_cmd(anvil, tmp, tmp / "bad.json"), cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, out
    expected = (
        (3, "proof of possession"),
        (7, "duplicate BLS key"),
        (9, "stake above requirement"),
        (11, "has no Ethereum address"),
    )
    for index, what in expected:
        assert f"node {states[index]['service_node_pubkey']}: " in out and what in out
    assert "nothing was sent" in out
    assert call(anvil, staking, "node_count()")[0] == 0


def test_migrate__killed_mid_seeding_and_rerun__ends_as_an_uninterrupted_run(seeding_chain):
    anvil, tmp, staking, _snapshot, env = seeding_chain
    fresh = anvil.rpc("evm_snapshot", [])
    dry = subprocess.run(
        migrate_cmd(anvil, tmp, tmp / "snapshot.json", "--dry-run"), cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"plan: {COUNT} nodes" in dry.stdout and "nothing sent" in dry.stdout
    assert call(anvil, staking, "node_count()")[0] == 0

    whole = subprocess.run(
        migrate_cmd(anvil, tmp, tmp / "snapshot.json"), cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stdout + whole.stderr
    uninterrupted = chain_state(anvil, staking)
    assert uninterrupted["count"] == COUNT and not uninterrupted["seeding"]
    anvil.rpc("evm_revert", [fresh])

    process = subprocess.Popen(
        migrate_cmd(anvil, tmp, tmp / "snapshot.json"), cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while call(anvil, staking, "node_count()")[0] < BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    seeded = call(anvil, staking, "node_count()")[0]
    assert BATCH <= seeded < COUNT, "the run was not interrupted mid-seeding"
    rerun = subprocess.run(
        migrate_cmd(anvil, tmp, tmp / "snapshot.json"), cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{seeded} already on chain" in rerun.stdout
    assert chain_state(anvil, staking) == uninterrupted
    manifest = Manifest.load(DEVNET_CHAIN_ID, tmp / "deployments")
    assert manifest.migration["seeded"] == COUNT and manifest.migration["started"]
