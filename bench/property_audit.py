"""The names and Pro stateful suites under the `audit` Hypothesis profile (100 steps a
run, the profile's 2,000 runs unless `--runs` caps them): runs, steps, failures and time,
recorded in bench/results/property_audit.json. The suites are the ones `make test` runs
(tests/property/test_names_stateful.py, test_pro_stateful.py), each checking the
contract against its model after every step.

    python bench/property_audit.py [--runs N] [names|pro ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import settings  # noqa: E402
from hypothesis.stateful import invariant, run_state_machine_as_test  # noqa: E402

import tests.conftest  # noqa: E402,F401  (registers the profiles)
from bench.common import RESULTS, environment  # noqa: E402
from sesh.testing.boa_bls import native_bls_precompiles  # noqa: E402


def machines() -> dict[str, type]:
    from tests.property.test_names_stateful import NamesMachine
    from tests.property.test_pro_stateful import ProMachine

    return {"names": NamesMachine, "pro": ProMachine}


def counted(machine: type) -> tuple[type, dict[str, int]]:
    """`machine` with a counter of runs and of invariant checks (one after the set-up and
    one after every step)."""
    counts = {"runs": 0, "checks": 0}

    class Counted(machine):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            counts["runs"] += 1

        @invariant()
        def _count_step(self) -> None:
            counts["checks"] += 1

    Counted.__name__ = machine.__name__
    return Counted, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suites", nargs="*", default=["names", "pro"])
    parser.add_argument("--runs", type=int, help="cap on runs (default: the profile's)")
    options = parser.parse_args()
    audit = settings.get_profile("audit")
    runs = options.runs or audit.max_examples
    path = RESULTS / "property_audit.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in options.suites:
        machine, counts = counted(machines()[name])
        started = time.perf_counter()
        failure = None
        with native_bls_precompiles():
            try:
                run_state_machine_as_test(machine, settings=settings(audit, max_examples=runs))
            except Exception as exc:  # a counterexample: recorded, and the run fails
                failure = f"{type(exc).__name__}: {exc}"[:2000]
        seconds = time.perf_counter() - started
        steps = counts["checks"] - counts["runs"]
        results[name] = {
            "environment": environment(),
            "profile": "audit",
            "steps_per_run": audit.stateful_step_count,
            "max_runs": runs,
            "profile_runs": audit.max_examples,
            "runs": counts["runs"],
            "steps": steps,
            "seconds": round(seconds, 1),
            "steps_per_second": round(steps / seconds, 1) if seconds else None,
            "failure": failure,
        }
        print(name, json.dumps(results[name], indent=2), flush=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        if failure:
            raise SystemExit(f"{name}: {failure}")


if __name__ == "__main__":
    main()
