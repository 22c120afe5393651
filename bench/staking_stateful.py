"""Speed of the staking stateful suite (titanoboa, native BLS precompiles).

Runs `tests/property/test_staking_stateful.py`'s machine with the audit depth (100 steps
per run) until at least `--steps` steps have run, invariants checked after every step,
and records steps per second. Two baselines in the same run: the same machine with its
invariants switched off (the same steps; what the checks cost), and the token machine
(`test_token_stateful.py`): the rate of a suite with no BLS and a small model. It also
times each view the invariants read (py-evm runs every read as EVM code).

Writes bench/results/staking_stateful.json and the "staking-stateful" table of
bench/README.md.

    python bench/staking_stateful.py [--steps 5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.stateful import invariant, run_state_machine_as_test  # noqa: E402

from bench.common import RESULTS, environment, update_readme_section, write_results  # noqa: E402
from sesh.testing.boa_bls import native_bls_precompiles  # noqa: E402
from tests.property.test_staking_stateful import StakingMachine  # noqa: E402
from tests.property.test_token_stateful import TokenMachine  # noqa: E402


def counting(machine_class):
    """The machine, counting the steps it runs (invariants run after every step)."""

    class Counted(machine_class):
        steps = 0

        @invariant()
        def count_step(self):
            type(self).steps += 1

    Counted.__name__ = machine_class.__name__
    return Counted


def without_invariants(machine_class):
    """The machine with its own invariants replaced by plain methods (not checked)."""
    names = {
        name
        for name in dir(machine_class)
        if getattr(getattr(machine_class, name), "hypothesis_stateful_invariant", None)
    }
    return type(machine_class.__name__, (machine_class,), dict.fromkeys(names, _skip))


def _skip(self):
    return None


def _settings(examples: int, steps: int, derandomize: bool = False) -> settings:
    """Runs of `steps` steps, `examples` of them, generated only: a failure is for the
    test suite to shrink; here it only has to show."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )


def view_costs(steps: int = 60) -> dict:
    """Milliseconds per call of each view the invariants read, on a machine's final state."""
    final = []

    class Kept(StakingMachine):
        def teardown(self):
            final.append(self)

    Kept.__name__ = StakingMachine.__name__
    run_state_machine_as_test(Kept, settings=_settings(3, steps, derandomize=True))
    machine = max(final, key=lambda m: len(m.model.nodes))
    staking, token = machine.staking, machine.token
    stranger = machine._address("attacker")
    views = {
        "staking.node": lambda: staking.node(1),
        "staking.claimable": lambda: staking.claimable(1, stranger),
        "staking.undistributed": lambda: staking.undistributed(),
        "token.balanceOf": lambda: token.balanceOf(stranger),
    }
    costs = {}
    for name, call in views.items():
        started = time.perf_counter()
        for _ in range(200):
            call()
        costs[name] = round((time.perf_counter() - started) / 200 * 1000, 2)
    return costs


def run(machine_class, target_steps: int, steps_per_run: int = 100) -> dict:
    machine = counting(machine_class)
    runs = 0
    started = time.perf_counter()
    while machine.steps < target_steps:
        run_state_machine_as_test(machine, settings=_settings(10, steps_per_run))
        runs += 10
        print(f"  {machine_class.__name__}: {machine.steps} steps", flush=True)
    seconds = time.perf_counter() - started
    return {
        "steps": machine.steps,
        "runs": runs,
        "seconds": round(seconds, 1),
        "steps_per_second": round(machine.steps / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5_000)
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="rewrite bench/README.md's table from the recorded results; measure nothing",
    )
    options = parser.parse_args()
    if options.readme_only:
        print(write_readme(json.loads((RESULTS / "staking_stateful.json").read_text())))
        return
    with native_bls_precompiles():
        staking = run(StakingMachine, options.steps)
        unchecked = run(without_invariants(StakingMachine), options.steps)
        views = view_costs()
    token = run(TokenMachine, min(options.steps, 2_000))
    ratio = round(staking["steps_per_second"] / token["steps_per_second"], 3)
    checks = round(staking["steps_per_second"] / unchecked["steps_per_second"], 3)
    data = {
        **environment(),
        "staking_machine": staking,
        "staking_machine_without_invariants": unchecked,
        "ratio_with_to_without_invariants": checks,
        "milliseconds_per_view_call": views,
        "token_machine_baseline": token,
        "ratio_staking_to_token": ratio,
        "target": "at least 50 steps a second with invariants after every step (issue 15)",
        "met": staking["steps_per_second"] >= 50,
    }
    path = write_results("staking_stateful", data)
    print(write_readme(data))
    print(f"written to {path}")


def write_readme(data: dict) -> str:
    """bench/README.md's table from recorded results (so it never drifts from them)."""
    staking, token = data["staking_machine"], data["token_machine_baseline"]
    unchecked = data.get("staking_machine_without_invariants")
    ratio = data["ratio_staking_to_token"]
    rows = [
        "| machine | steps | seconds | steps/s |\n|---|---:|---:|---:|",
        f"| staking (BLS, reference model) | {staking['steps']:,} | {staking['seconds']} "
        f"| {staking['steps_per_second']} |",
    ]
    if unchecked:
        rows.append(
            f"| staking, invariants off (baseline) | {unchecked['steps']:,} "
            f"| {unchecked['seconds']} | {unchecked['steps_per_second']} |"
        )
    rows.append(
        f"| token (baseline) | {token['steps']:,} | {token['seconds']} "
        f"| {token['steps_per_second']} |"
    )
    table = "\n".join(rows)
    checks = ""
    if unchecked:
        views = data.get("milliseconds_per_view_call", {})
        checks = (
            f", to the same machine with its invariants off "
            f"{data['ratio_with_to_without_invariants']}; ms per view call read by the "
            "invariants: " + ", ".join(f"`{name}` {ms}" for name, ms in views.items())
        )
    target = "met" if data.get("met") else "not met"
    update_readme_section(
        "staking-stateful",
        f"Stateful staking suite, measured {data['date']} (one core, titanoboa with the "
        f"native EIP-2537 precompiles, 100 steps a run, invariants after every step; "
        f"ratio to the token machine {ratio}{checks}; target "
        f"{data.get('target', '-')}: {target}):\n\n{table}",
    )
    return table


if __name__ == "__main__":
    main()
