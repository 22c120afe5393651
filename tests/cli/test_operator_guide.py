"""docs/operators.md, run as written: every `sh` block, in order, in one shell, against a
fresh devnet-like chain (only SESH_NETWORK and the keystore path point at the test's)."""

import re
import subprocess
from pathlib import Path

from tests.cli.conftest import DELEGATOR, OPERATOR, ROOT, sesh_env

GUIDE = ROOT / "docs" / "operators.md"


def guide_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_operator_guide__runs_as_written__registers_delegates_distributes_and_claims(
    chain_state, tmp_path: Path
):
    devchain = chain_state
    script = "set -euo pipefail\n" + "\n".join(guide_commands())
    env = {**sesh_env(devchain), "SESH_KEYSTORE": str(tmp_path / "node-keys.json")}
    env.pop("SESH_KEYSTORE_PASSWORD")  # the guide sets it
    operator_before = devchain.sesh_balance(OPERATOR)
    delegator_before = devchain.sesh_balance(DELEGATOR)
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "would succeed (nothing sent)" in out
    assert "node id 1: open, stake 12,500 SESH of 25,000 SESH" in out
    assert "node 1: active, stake 25,000 SESH of 25,000 SESH" in out
    assert re.search(r"distribute [\d,.]+ SESH: done", out)
    received = re.findall(r"received ([\d,.]+) SESH", out)
    assert len(received) == 2 and all(float(r.replace(",", "")) > 0 for r in received)
    # The delegator got back rewards on top of 5,000 staked; the operator the fee and share.
    assert devchain.sesh_balance(DELEGATOR) > delegator_before - 5_000 * 10**9
    assert devchain.sesh_balance(OPERATOR) > operator_before - 12_500 * 10**9
    assert devchain.node_count() == 1
