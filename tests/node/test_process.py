"""`sesh node run` as a process: its HTTP API, a clean stop on SIGTERM, and twenty
SIGKILLs at random points of a catch-up of thousands of events ending with exactly the
registry of a clean sync."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sesh.devnet.chain import free_port
from sesh.protocol.swarm import closest_swarm, swarm_space
from tests.node.conftest import sync_now

CONFIRMATIONS = 2
KILL_CYCLES = 20
ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, anvil_url: str, driver, port: int, max_block_range: int = 50) -> Path:
    path.write_text(
        f"""
[chain]
chain_id = {driver.w3.eth.chain_id}
providers = ["{anvil_url}"]
confirmations = {CONFIRMATIONS}
poll_interval = 0.1
max_block_range = {max_block_range}

[contracts]
staking = "{driver.address}"
start_block = {driver.deploy_block}

[node]
data_dir = "data"
listen = "127.0.0.1:{port}"
ed25519_pubkey = "{"00" * 32}"
"""
    )
    return path


def start_node(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sesh.cli.main", "node", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            body = r.read()
            status = r.status
            kind = r.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        body, status, kind = exc.read(), exc.code, exc.headers.get_content_type()
    return status, json.loads(body) if kind == "application/json" else body.decode()


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen | None = None):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"the node exited with {process.returncode} while waiting for {what}"
            )
        try:
            value = predicate()
        except (OSError, urllib.error.URLError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def synced_to(port: int, block: int):
    status, info = get(port, "/info", timeout=2)
    return status == 200 and info["synced_block"] >= block and info["synced"]


def checkpoint_in(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT value FROM sync WHERE name = 'checkpoint'").fetchone()
    return json.loads(row[0])[0] if row else -1


def dump_of(db: Path) -> dict:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        state = {
            f"{k}/{key}": json.loads(v)
            for k, key, v in conn.execute("SELECT kind, key, value FROM state ORDER BY kind, key")
        }
        sync = {name: json.loads(v) for name, v in conn.execute("SELECT name, value FROM sync")}
    return {
        "state": state,
        "checkpoint": sync["checkpoint"][0],
        "events_applied": sync["events_applied"],
    }


def test_process__serves_the_registry_over_http_and_stops_cleanly_on_sigterm(
    tmp_path, anvil, driver
):
    driver.register_many(list(range(1, 16)), activate=True)
    driver.register(16)
    driver.exit(4, reason=2)
    driver.subscribe(b"\x42" * 32, 2_000_000_000)
    driver.mine(CONFIRMATIONS)
    target = driver.w3.eth.block_number - CONFIRMATIONS
    port = free_port()
    config = write_config(tmp_path / "node.toml", anvil.url, driver, port)
    log = tmp_path / "node.log"
    node = start_node(config, log)
    try:
        wait_for(lambda: synced_to(port, target), 60, "the node to sync", node)
        status, info = get(port, "/info")
        assert status == 200
        assert info["chain_id"] == 412346 and info["chain_head"] >= target + CONFIRMATIONS
        assert info["node_id"] is None and info["nodes"] == 16

        status, nodes = get(port, "/nodes")
        by_id = {n["node_id"]: n for n in nodes["nodes"]}
        assert by_id[4]["status"] == "exited" and by_id[16]["status"] == "open"
        assert by_id[1]["serving"] and by_id[1]["swarm_id"] is not None
        assert by_id[1]["stake"] == str(25_000 * 10**9)

        status, swarms = get(port, "/swarms")
        members = sorted(n["node_id"] for s in swarms["swarms"] for n in s["nodes"])
        assert members == [n for n in range(1, 16) if n != 4]

        session_id = "05" + "3506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8"
        status, swarm = get(port, f"/swarm/{session_id}")
        ids = sorted(int(s["swarm_id"]) for s in swarms["swarms"])
        expected = closest_swarm(swarm_space(bytes.fromhex(session_id[2:])), ids)
        assert status == 200 and int(swarm["swarm_id"]) == expected
        assert get(port, "/swarm/05abc")[0] == 400

        status, pro = get(port, "/pro/" + "42" * 32)
        assert status == 200 and pro["expiry"] == 2_000_000_000 and pro["active"]
        assert get(port, "/pro/" + "43" * 32)[1]["expiry"] is None
        assert get(port, "/pro/xyz")[0] == 400

        status, metrics = get(port, "/metrics")
        assert f"sesh_bridge_synced_block {info['synced_block']}" in metrics
        assert 'sesh_bridge_nodes{status="active"} 14' in metrics
        assert "sesh_bridge_events_applied_total" in metrics

        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=30) == 0
        assert "stopped at block" in log.read_text()
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()


def run_to_the_end(config: Path) -> subprocess.CompletedProcess:
    """`sesh node run` expected to stop by itself (on an error)."""
    return subprocess.run(
        [sys.executable, "-m", "sesh.cli.main", "node", "run", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_process__refuses_a_bad_configuration_with_a_one_line_error(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text("[chain]\nproviders = []\n[contracts]\n[node]\n")
    result = run_to_the_end(config)
    assert result.returncode == 1
    assert "Error:" in result.stderr and "chain.providers" in result.stderr
    assert "Traceback" not in result.stderr


def build_history(driver) -> None:
    """Thousands of events over a few hundred blocks."""
    nodes = list(range(1, 401))
    # Spread over many blocks, so that a catch-up one block per range commits often.
    for i in range(0, len(nodes), 10):
        driver.register_many(nodes[i : i + 10], activate=False)
        driver.mine(5)
    for i in range(0, len(nodes), 10):
        driver.activate_many(nodes[i : i + 10])
        driver.contribute_many(
            [(n, driver.accounts[5], 10**9, 25_001 * 10**9) for n in nodes[i : i + 10]]
        )
        driver.mine(5)
    for i in range(0, 300, 30):
        driver.subscribe_many([(n + i).to_bytes(32, "big") for n in range(30)], 2_000_000_000 + i)
    for n in range(10, 400, 13):
        driver.request_exit(n)
    driver.exit_many(list(range(10, 400, 26)), reason=0)
    for n in range(1, 60):
        driver.update_endpoint(n, f"moved-{n}.example:22021")
    driver.mine(CONFIRMATIONS)


def test_process__sigkill_at_random_points_of_a_catch_up_ends_with_the_clean_registry(
    tmp_path, anvil, driver, make_tracker
):
    build_history(driver)
    emitted = driver.events_emitted()
    assert emitted > 2_000
    target = driver.w3.eth.block_number - CONFIRMATIONS

    reference = make_tracker([anvil.url], confirmations=CONFIRMATIONS)
    sync_now(reference)
    clean = reference.store.dump()
    assert clean["events_applied"] == emitted

    port = free_port()
    config = write_config(tmp_path / "node.toml", anvil.url, driver, port, max_block_range=1)
    db = tmp_path / "data" / "bridge.sqlite3"
    log = tmp_path / "node.log"
    seed = int(os.environ.get("SESH_KILL_SEED", "7"))
    rng = random.Random(seed)
    checkpoints = []
    for _ in range(KILL_CYCLES):
        node = start_node(config, log)
        try:
            wait_for(lambda: get(port, "/info", timeout=2)[0] == 200, 60, "the API", node)
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            node.send_signal(signal.SIGKILL)
            node.wait(timeout=30)
        checkpoints.append(checkpoint_in(db))
    mid_catch_up = sum(1 for c in checkpoints if c < target)
    print(f"seed {seed}: checkpoints after each kill {checkpoints} (target {target})")
    assert mid_catch_up >= KILL_CYCLES // 2, f"too few kills landed mid catch-up: {checkpoints}"
    assert checkpoints == sorted(checkpoints), "a restart never goes backwards"

    node = start_node(config, log)
    try:
        wait_for(lambda: synced_to(port, target), 120, "the final sync", node)
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=30) == 0
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert dump_of(db) == clean


def test_process__a_taken_port_is_a_one_line_error(tmp_path, anvil, driver):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_to_the_end(write_config(tmp_path / "node.toml", anvil.url, driver, port))
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
