"""`bench/onion.py` puts its HTTP client and servers on different cores. A server forked
from the already pinned client once inherited the client's only core, so both shared one
core while the bench said otherwise; this checks the placement in a child process (the
test process itself is never pinned)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, multiprocessing, os
from bench.onion import pin

def child(queue):
    pin(1)
    queue.put(sorted(os.sched_getaffinity(0)))

if __name__ == "__main__":
    pin(0)
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=child, args=(queue,))
    process.start()
    print(json.dumps([sorted(os.sched_getaffinity(0)), queue.get(timeout=60)]))
    process.join()
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_bench_onion__server_forked_from_the_pinned_client__runs_on_the_other_core():
    cores = sorted(os.sched_getaffinity(0))
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    client, server = json.loads(result.stdout)
    assert client == [cores[0]]
    assert server == [cores[1]]
