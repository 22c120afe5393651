"""CPU time of the `sesh` read commands: over plain JSON-RPC with the shipped ABIs (how they
run), against the same commands through Ape's network parsing and provider
(`SESH_READS_THROUGH_APE=1`, how they ran before) in the same run, interleaved. Target:
under 1.5 s of CPU (user + system) per read command (issue #20).

The suite is deployed with `ape run deploy all` on a fresh anvil (devnet chain id) and one
node is registered, so the commands have something to read. Each command runs `ROUNDS`
times each way; the median is recorded. `sesh --version` is the floor (Python, click and
the CLI's imports).

    python bench/cli.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, environment, ratio, update_readme_section, write_results  # noqa: E402
from sesh.crypto import keystore  # noqa: E402
from sesh.crypto.node_keys import NodeKeys  # noqa: E402
from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil  # noqa: E402

ROUNDS = 5
PASSWORD = "bench-password"
TARGET_CPU_S = 1.5
DELEGATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
READS = {
    "rewards show": ["rewards", "show", "--account", "TEST::0"],
    "node status": ["node", "status", "1"],
    "node list": ["node", "list"],
    "balance": ["balance", "--address", DELEGATOR],
    "names available": ["names", "available", "alice"],
    "pro plans": ["pro", "plans"],
}
BIN = Path(sys.executable).parent


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `sesh` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(["sesh", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"sesh {' '.join(args)} failed: {result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            network = f"arbitrum:devnet:{anvil.url}"
            env = {
                **os.environ,
                "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                "SESH_NETWORK": network,
                "SESH_DEPLOYMENTS_DIR": tmp,
                "SESH_KEYSTORE_PASSWORD": PASSWORD,
                "NO_COLOR": "1",
            }
            subprocess.run(
                ["ape", "run", "deploy", "all", "--network", network, "--deployments-dir", tmp],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            keys = Path(tmp) / "keys.json"
            keystore.create(keys, NodeKeys.generate(), PASSWORD)
            subprocess.run(
                ["sesh", "node", "register", "--keystore", str(keys), "--endpoint",
                 "203.0.113.7:22021", "--account", "TEST::0", "--force"],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            through_ape = {**env, "SESH_READS_THROUGH_APE": "1"}
            floor = [run(["--version"], env)[0] for _ in range(ROUNDS)]
            rows = {}
            for name, args in READS.items():
                plain, ape = [], []
                for _ in range(ROUNDS):
                    plain.append(run(args, env))
                    ape.append(run(args, through_ape))
                rows[name] = {
                    "plain_rpc_cpu_s": round(statistics.median(c for c, _ in plain), 3),
                    "plain_rpc_wall_s": round(statistics.median(w for _, w in plain), 3),
                    "through_ape_cpu_s": round(statistics.median(c for c, _ in ape), 3),
                    "through_ape_wall_s": round(statistics.median(w for _, w in ape), 3),
                }
                rows[name]["ratio_cpu"] = ratio(
                    rows[name]["plain_rpc_cpu_s"], rows[name]["through_ape_cpu_s"]
                )
                rows[name]["within_target"] = rows[name]["plain_rpc_cpu_s"] < TARGET_CPU_S
    finally:
        anvil.stop()
    results = {
        "environment": environment(),
        "rounds": ROUNDS,
        "target_cpu_s": TARGET_CPU_S,
        "version_floor_cpu_s": round(statistics.median(floor), 3),
        "commands": rows,
    }
    path = write_results("cli", results)
    lines = [
        f"Median of {ROUNDS} runs each, interleaved, CPU = user + system of the `sesh` "
        f"process; `sesh --version` takes {results['version_floor_cpu_s']} s. Target: under "
        f"{TARGET_CPU_S} s of CPU.",
        "",
        "| command | plain JSON-RPC CPU (s) | through Ape CPU (s) | ratio | wall plain / Ape (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| `sesh {name}` | {row['plain_rpc_cpu_s']} | {row['through_ape_cpu_s']} | "
            f"{row['ratio_cpu']} | {row['plain_rpc_wall_s']} / {row['through_ape_wall_s']} |"
        )
    update_readme_section("cli", "\n".join(lines))
    print(path.read_text())


if __name__ == "__main__":
    main()
