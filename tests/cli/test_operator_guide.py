"""docs/operators.md, run as written: every `sh` block, in order, in one shell, against a
fresh devnet-like chain (only SESH_NETWORK, the keystore path, the node's directory and
its port point at the test's). The guide starts the node's own bridge in the background
before registering; the test checks it served and stops it whatever happens."""

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

from sesh.devnet.chain import free_port
from tests.cli.conftest import DELEGATOR, OPERATOR, ROOT, sesh_env

GUIDE = ROOT / "docs" / "operators.md"


def guide_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_operator_guide__runs_as_written__serves_registers_delegates_claims_and_exits(
    chain_state, tmp_path: Path
):
    devchain = chain_state
    script = "set -euo pipefail\n" + "\n".join(guide_commands())
    endpoint = f"127.0.0.1:{free_port()}"
    env = {
        **sesh_env(devchain),
        "SESH_KEYSTORE": str(tmp_path / "node-keys.json"),
        "SESH_NODE_DIR": str(tmp_path / "node"),
        "NODE_ENDPOINT": endpoint,
    }
    env.pop("SESH_KEYSTORE_PASSWORD")  # the guide sets it
    operator_before = devchain.sesh_balance(OPERATOR)
    delegator_before = devchain.sesh_balance(DELEGATOR)
    # Its own session: the bridge the guide starts with `&` is in this process group.
    process = subprocess.Popen(
        ["bash", "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, out + err
    assert "Traceback" not in out + err
    node_toml = (tmp_path / "node" / "node.toml").read_text()
    assert f'listen = "{endpoint}"' in node_toml
    assert "ExecStart=" in (tmp_path / "node" / "sesh-node.service").read_text()
    # The bridge served the keystore's key before the registration was sent.
    ed25519 = re.search(r"ed25519 pubkey\s+([0-9a-f]{64})", out).group(1)
    assert f"bridge {endpoint}: synced" in out
    assert out.count(ed25519) >= 2  # keys new, node info
    assert "would succeed (nothing sent)" in out
    assert "node id 1: open, stake 12,500 SESH of 25,000 SESH" in out
    assert "node 1: active, stake 25,000 SESH of 25,000 SESH" in out
    assert re.search(r"distribute [\d,.]+ SESH: done", out)
    assert "stakes unlock at" in out and "finalize exit of node 1: done" in out
    received = re.findall(r"received ([\d,.]+) SESH", out)
    assert len(received) == 4 and all(float(r.replace(",", "")) > 0 for r in received)
    assert "exited (exit finalized)" in out
    # Stakes came back with the rewards: both ended richer than they started.
    assert devchain.sesh_balance(DELEGATOR) > delegator_before
    assert devchain.sesh_balance(OPERATOR) > operator_before
    assert devchain.node_count() == 1
