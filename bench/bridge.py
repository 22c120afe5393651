"""Node bridge speed: catch-up against the bare log download, swarm recomputation, and
Session ID -> swarm lookups.

1. Catch-up. A fresh anvil (Prague) gets the events contract and a history of more than
   20,000 events (the mix below) spread over many blocks. The baseline is the bare
   download of the same block ranges: `eth_getLogs` over HTTP with the same client
   (aiohttp) and JSON parsing, nothing else. The bridge then catches up from an empty
   database (decode, verify every registration's Ed25519 signature, apply, update swarms,
   commit each range with its checkpoint). Ratio = catch-up / bare download; target <= 2.
2. Swarm recomputation for 2,000 and 10,000 nodes: building the map for all of them in
   one block (the worst case: a network launched at once), and one block of 1 % churn
   on the built map. Target: 10,000 nodes under 1 s.
3. Lookups: Session ID -> swarm id on the 10,000-node map, against a dict lookup of the
   same keys (the cheapest possible mapping). Target: >= 200,000 lookups/s.

    python bench/bridge.py        (or: make bench)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.common import environment, ratio, update_readme_section, write_results  # noqa: E402
from sesh.devnet.chain import DEVNET_CHAIN_ID, find_anvil, start_anvil  # noqa: E402
from sesh.node.chain.registry import verify_registration  # noqa: E402
from sesh.node.chain.rpc import RpcPool  # noqa: E402
from sesh.node.chain.store import Identity, Store  # noqa: E402
from sesh.node.chain.tracker import TOPICS0, ChainTracker, TrackerSettings  # noqa: E402
from sesh.node.metrics import Metrics  # noqa: E402
from sesh.protocol.swarm import SwarmLookup, SwarmState, update_swarms  # noqa: E402
from tests.node.driver import EventsDriver  # noqa: E402

NODES = 1_000
BLOCK_RANGE = 500
EMPTY_BLOCKS_BETWEEN_TXS = 25
CONFIRMATIONS = 20
RUNS = 3


def build_history(driver: EventsDriver) -> dict[str, int]:
    """The event mix of a network of NODES nodes after a while: registrations (with the
    operator's stake), activations, delegations, claims, reward distributions, exits and
    Pro subscriptions. Returns the count of each event."""
    nodes = list(range(1, NODES + 1))
    accounts = driver.accounts

    def pause():
        driver.mine(EMPTY_BLOCKS_BETWEEN_TXS)

    for i in range(0, NODES, 100):
        driver.register_many(nodes[i : i + 100], activate=True)
        pause()
    operator_stake = 25_000 * 10**9
    delegation = 1_000 * 10**9
    delegations = [
        (n, accounts[1 + k], delegation, operator_stake + (k + 1) * delegation)
        for k in range(3)
        for n in nodes
    ]
    for i in range(0, len(delegations), 200):
        driver.contribute_many(delegations[i : i + 200])
        pause()
    claims = [(n, accounts[k], 10**9, 0) for k in range(8) for n in nodes]
    for i in range(0, len(claims), 250):
        driver.claim_many(claims[i : i + 250])
        pause()
    for day in range(200):
        driver.distribute(10**13 + day, NODES)
    for n in range(1, 101):
        driver.request_exit(n)
    driver.exit_many(list(range(1, 51)), reason=0)
    pro_keys = [hashlib.sha256(f"pro {i}".encode()).digest() for i in range(6_000)]
    for i in range(0, len(pro_keys), 200):
        driver.subscribe_many(pro_keys[i : i + 200], 2_000_000_000 + i)
        pause()
    driver.mine(CONFIRMATIONS)
    return {
        "NodeRegistered": NODES,
        "Contributed (operator)": NODES,
        "NodeActivated": NODES,
        "Contributed (delegators)": len(delegations),
        "Claimed": len(claims),
        "RewardsDistributed": 200,
        "ExitRequested": 100,
        "NodeExited": 50,
        "ProSubscribed": len(pro_keys),
    }


async def bare_download(url: str, address: str, ranges: list[tuple[int, int]]) -> tuple[float, int]:
    topics = [["0x" + t.hex() for t in TOPICS0]]
    count = 0
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for first, last in ranges:
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_getLogs",
                "params": [
                    {
                        "fromBlock": hex(first),
                        "toBlock": hex(last),
                        "address": [address],
                        "topics": topics,
                    }
                ],
            }
            async with session.post(url, json=body) as response:
                count += len(json.loads(await response.read())["result"])
        return time.perf_counter() - started, count


async def catch_up(url: str, driver: EventsDriver, data_dir: Path) -> tuple[float, int]:
    # Every run checks every signature, as a fresh process would: the process-wide cache
    # of checked registrations would otherwise skip them in all runs but the first.
    verify_registration.cache_clear()
    metrics = Metrics()
    identity = Identity(DEVNET_CHAIN_ID, (driver.address.lower(),), driver.deploy_block)
    store = Store(data_dir / "bridge.sqlite3", identity)
    pool = RpcPool([url], DEVNET_CHAIN_ID, metrics, timeout=60)
    settings = TrackerSettings(confirmations=CONFIRMATIONS, max_block_range=BLOCK_RANGE)
    tracker = ChainTracker(pool, store, [driver.address], metrics, settings)
    async with pool:
        started = time.perf_counter()
        await tracker.sync_once()
        elapsed = time.perf_counter() - started
    tracker.close()
    applied = store.counters()["events_applied"]
    store.close()
    return elapsed, applied


def measure_catch_up() -> dict:
    with start_anvil(chain_id=DEVNET_CHAIN_ID) as anvil:
        driver, block = EventsDriver.deploy(anvil.url)
        driver.deploy_block = block
        print("building the history ...", flush=True)
        mix = build_history(driver)
        emitted = driver.events_emitted()
        head = driver.w3.eth.block_number
        target = head - CONFIRMATIONS
        ranges = [
            (a, min(a + BLOCK_RANGE - 1, target)) for a in range(block, target + 1, BLOCK_RANGE)
        ]
        bare_times, catch_times = [], []
        for _ in range(RUNS):
            bare, downloaded = asyncio.run(bare_download(anvil.url, driver.address, ranges))
            with tempfile.TemporaryDirectory() as tmp:
                caught, applied = asyncio.run(catch_up(anvil.url, driver, Path(tmp)))
            assert downloaded == applied == emitted, (downloaded, applied, emitted)
            bare_times.append(bare)
            catch_times.append(caught)
            print(f"  bare download {bare:.3f}s, catch-up {caught:.3f}s", flush=True)
        bare_m, catch_m = statistics.median(bare_times), statistics.median(catch_times)
        return {
            "events": emitted,
            "blocks": target - block + 1,
            "ranges": len(ranges),
            "block_range": BLOCK_RANGE,
            "mix": mix,
            "runs": RUNS,
            "bare_download_s": round(bare_m, 4),
            "catch_up_s": round(catch_m, 4),
            "ratio": ratio(catch_m, bare_m),
            "events_per_s": round(emitted / catch_m),
            "target_ratio": 2.0,
        }


def seed(label: object) -> bytes:
    return hashlib.sha256(str(label).encode()).digest()


def measure_swarms(count: int) -> dict:
    build_times, churn_times = [], []
    swarms: dict = {}
    for run in range(RUNS):
        started = time.perf_counter()
        swarms = update_swarms({}, range(1, count + 1), [], seed((count, run)))
        build_times.append(time.perf_counter() - started)
        state = SwarmState(swarms)
        churn = count // 100
        started = time.perf_counter()
        state.update(range(count + 1, count + 1 + churn), range(1, 1 + churn), seed(("churn", run)))
        churn_times.append(time.perf_counter() - started)
    return {
        "nodes": count,
        "swarms": len(swarms),
        "build_s": round(statistics.median(build_times), 4),
        "churn_1pct_s": round(statistics.median(churn_times), 5),
        "target_s": 1.0,
    }


def measure_lookups(count: int = 10_000, keys: int = 200_000) -> dict:
    swarms = update_swarms({}, range(1, count + 1), [], seed("lookups"))
    lookup = SwarmLookup(swarms)
    session_keys = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(keys)]
    table = {k: i for i, k in enumerate(session_keys)}
    best_lookup = best_dict = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        for key in session_keys:
            lookup.swarm_for_key(key)
        best_lookup = min(best_lookup, time.perf_counter() - started)
        started = time.perf_counter()
        for key in session_keys:
            table.get(key)
        best_dict = min(best_dict, time.perf_counter() - started)
    return {
        "swarms": len(swarms),
        "keys": keys,
        "lookups_per_s": round(keys / best_lookup),
        "dict_lookups_per_s": round(keys / best_dict),
        "ratio_to_dict": ratio(best_lookup, best_dict),
        "target_per_s": 200_000,
    }


def rows(c: dict, s: list[dict], lk: dict) -> list[str]:
    small, large = s
    return [
        f"| catch-up from an empty database | {c['catch_up_s']:.3f} s "
        f"({c['events_per_s']:,} events/s) | bare `eth_getLogs` download "
        f"{c['bare_download_s']:.3f} s | {c['ratio']:.2f} | <= 2 |",
        f"| swarms for {small['nodes']:,} nodes, built at once | {small['build_s']:.3f} s "
        f"({small['swarms']} swarms) | | | |",
        f"| swarms for {large['nodes']:,} nodes, built at once | {large['build_s']:.3f} s "
        f"({large['swarms']} swarms) | | | < 1 s |",
        f"| one block of 1 % churn, {large['nodes']:,} nodes | "
        f"{large['churn_1pct_s'] * 1000:.1f} ms | | | |",
        f"| Session ID -> swarm lookups ({lk['swarms']} swarms) | {lk['lookups_per_s']:,}/s | "
        f"dict lookup {lk['dict_lookups_per_s']:,}/s | {lk['ratio_to_dict']:.2f} | >= 200,000/s |",
    ]


def main() -> None:
    anvil_version = subprocess.run(
        [find_anvil(), "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    results = {"environment": environment(), "anvil": anvil_version}
    results["catch_up"] = measure_catch_up()
    results["swarms"] = [measure_swarms(2_000), measure_swarms(10_000)]
    results["lookups"] = measure_lookups()
    path = write_results("bridge", results)
    c, s, lk = results["catch_up"], results["swarms"], results["lookups"]
    mix = ", ".join(f"{v:,} {k}" for k, v in c["mix"].items())
    table = f"""Node bridge, measured {results["environment"]["date"]} (median of {RUNS} runs;
{c["events"]:,} events over {c["blocks"]:,} blocks in {c["ranges"]} ranges of {c["block_range"]}).
Mix: {mix}.

| what | measured | baseline | ratio | target |
|---|---:|---:|---:|---|
"""
    table += "\n".join(rows(c, s, lk)) + "\n"
    update_readme_section("bridge", table)
    print(table)
    print(f"written {path}")


if __name__ == "__main__":
    main()
