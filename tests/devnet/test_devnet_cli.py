"""`ape run devnet` as a user runs it: a second devnet on a port in use is refused before
anything starts or is written, the hints name the ports in use, and SIGINT or SIGTERM stop
a devnet running in the background (where the shell makes it ignore SIGINT at start)."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sesh.devnet.chain import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
       "COLUMNS": "200"}  # fmt: skip


def devnet(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        ["ape", "run", "devnet", *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, **kwargs,
    )  # fmt: skip


def test_devnet__ports_in_use__refused_and_nothing_touched(tmp_path):
    deployments, nodes_dir = tmp_path / "deployments", tmp_path / "devnet"
    deployments.mkdir()
    nodes_dir.mkdir()
    (deployments / "412346.json").write_text("the running devnet's manifest")
    (nodes_dir / "node-1").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        common = ["--deployments-dir", str(deployments), "--dir", str(nodes_dir), "--exit"]
        chain = devnet("--port", str(port), "--nodes", "0", *common)
        out = chain.communicate(timeout=120)[0]
        free = free_port()
        node = devnet("--port", str(free), "--nodes", "5", "--node-port", str(port), *common)
        node_out = node.communicate(timeout=120)[0]
    assert chain.returncode != 0 and "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("Error:")] == [
        f"Error: port {port} is in use (another devnet running?); nothing was started or "
        f"changed. Stop it (make devnet-stop), or choose another port: make devnet "
        f"ARGS='--port {port + 100}'"
    ]
    assert node.returncode != 0 and "Traceback" not in node_out
    assert f"Error: node port(s) {port} in use" in node_out
    assert "Starting anvil" not in out + node_out
    assert (deployments / "412346.json").read_text() == "the running devnet's manifest"
    assert (nodes_dir / "node-1").is_dir()
    assert not (tmp_path / "devnet.pid").exists()


def _read_until(process: subprocess.Popen, marker: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and process.poll() is None, seen
        ready, _, _ = select.select([process.stdout], [], [], left)
        if ready:
            seen += process.stdout.readline()
    return seen


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_devnet__in_the_background__hints_its_port_and_stops_on_a_signal(tmp_path, stop):
    port = free_port()
    process = devnet(
        "--port", str(port), "--nodes", "0", "--deployments-dir", str(tmp_path / "dep"),
        "--dir", str(tmp_path / "devnet"),
        # As `make devnet &` in a script: the shell starts background jobs ignoring SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        out = _read_until(process, "Try:", timeout=240)
        assert f"export SESH_NETWORK=arbitrum:devnet:http://127.0.0.1:{port}" in out
        assert "arbitrum:devnet:node" not in out
        assert (tmp_path / "devnet.pid").read_text().strip() == str(process.pid)
        process.send_signal(stop)
        rest = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out + rest
    assert "Devnet stopped." in rest and "Traceback" not in out + rest
    assert not (tmp_path / "devnet.pid").exists()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))  # anvil is gone (its closed connections may linger)
