"""Gas of seeding the running network's nodes, against solo registrations measured in the
same run.

Deploys SESH, the reward pool, the BLS verifier, the staking extension and
ServiceNodeStaking in its seeding phase on a fresh anvil (Prague), generates an
old-network snapshot of N nodes (real keys and proofs of possession; most nodes staked
by their operator, every fourth shared with delegators, every tenth open with a reserved
slot), checks it as `sesh migrate` does, and seeds it in batches with `seed_nodes`
(every proof verified on chain, batched). Beside it, a staking contract deployed live
measures `register_node` of solo nodes (the baseline). The goal (issue 19): seeding N
nodes costs at most half of N solo registrations, each transaction under Arbitrum's
32,000,000 gas.

Writes bench/results/seeding.json and the "seeding" table of bench/README.md.

    python bench/seeding.py [--nodes 2000] [--batch 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    Chain,
    deploy_staking_suite,
    environment,
    update_readme_section,
    write_results,
)
from sesh.crypto.node_keys import NodeKeys  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402
from sesh.migrate.generate import old_network  # noqa: E402
from sesh.migrate.snapshot import batches, check_snapshot, ordered  # noqa: E402

UNIT = 10**9
REQUIREMENT = 25_000 * UNIT
ARBITRUM_TX_LIMIT = 32_000_000
PORT = 24_010


def deploy_suite(chain: Chain, owner, seeding: bool):
    suite = deploy_staking_suite(chain, owner, seeding)
    chain.call(owner, suite.token.functions.approve(suite.staking.address, 2**256 - 1))
    return suite.token, suite.pool, suite.staking, suite.at_staking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--solo", type=int, default=5, help="solo registrations measured")
    options = parser.parse_args()
    with start_anvil(
        port=PORT, accounts=10, balance_eth=10**9, extra_args=["--gas-limit", "100000000"]
    ) as anvil:
        chain = Chain(anvil.url, TEST_MNEMONIC)
        owner = chain.keys[0]
        chain_id = chain.w3.eth.chain_id

        # Baseline: solo registrations on a contract deployed live.
        token, _pool, live, _ = deploy_suite(chain, owner, seeding=False)
        solo = []
        for i in range(options.solo):
            keys = NodeKeys.from_seeds(bytes([i + 1]) * 32, (i + 99).to_bytes(32, "big"))
            args = keys.registration_args(chain_id, live.address, owner.address)
            solo.append(
                chain.call(
                    owner,
                    live.functions.register_node(*args, "203.0.113.7:22021", 500, REQUIREMENT, []),
                )
            )

        token, pool, staking, at_staking = deploy_suite(chain, owner, seeding=True)
        print(f"generating and checking a snapshot of {options.nodes} nodes ...", flush=True)
        started = time.monotonic()
        snapshot = old_network(options.nodes, chain_id, staking.address, REQUIREMENT).snapshot
        report = check_snapshot(snapshot, chain_id, staking.address, REQUIREMENT)
        if not report.ok:
            raise SystemExit("\n".join(report.lines()))
        check_seconds = time.monotonic() - started
        nodes = ordered(report.nodes)
        per_batch = []
        for n, batch in enumerate(batches(nodes, options.batch), 1):
            seed = at_staking.functions.seed_nodes([node.args() for node in batch])
            gas = chain.call(owner, seed)
            per_batch.append((len(batch), gas))
            print(f"  batch {n}: {len(batch)} nodes, {gas:,} gas", flush=True)
        assert staking.functions.node_count().call() == len(nodes)
        # `start` needs the pool to pay this contract (as `sesh migrate` sets it).
        chain.call(owner, pool.functions.set_beneficiary(staking.address))
        start_gas = chain.call(owner, at_staking.functions.start())

    total = sum(g for _, g in per_batch) + start_gas
    solo_median = int(statistics.median(solo))
    goal = solo_median * options.nodes // 2
    delegated = sum(1 for n in nodes if n.contributors)
    results = {
        **environment(),
        "chain": "anvil, hardfork prague",
        "unit": "gas used by the transactions (21,000 base and calldata included)",
        "nodes": options.nodes,
        "nodes_with_delegators_or_reservations": delegated,
        "batch_size": options.batch,
        "batches": len(per_batch),
        "seeding_gas_total": total,
        "seeding_gas_per_node": round(total / options.nodes),
        "largest_transaction": max(g for _, g in per_batch),
        "start_gas": start_gas,
        "solo_registration_median": solo_median,
        "solo_registrations_total": solo_median * options.nodes,
        "goal_half_of_solo": goal,
        "ratio_to_solo": round(total / (solo_median * options.nodes), 3),
        "goal_met": total <= goal and max(g for _, g in per_batch) < ARBITRUM_TX_LIMIT,
        "snapshot_check_seconds": round(check_seconds, 1),
    }
    write_results("seeding", results)
    update_readme_section(
        "seeding",
        "\n".join(
            [
                "| figure | gas |",
                "|---|---:|",
                f"| seeding {options.nodes} nodes ({len(per_batch)} batches of "
                f"{options.batch}, every proof verified) | {total:,} |",
                f"| per node | {results['seeding_gas_per_node']:,} |",
                f"| largest transaction (limit 32,000,000) | {results['largest_transaction']:,} |",
                f"| solo `register_node` (median of {options.solo}, same run) | {solo_median:,} |",
                f"| goal: half of {options.nodes} solo registrations | {goal:,} |",
                f"| ratio to solo registrations | {results['ratio_to_solo']} |",
            ]
        ),
    )
    print(results)


if __name__ == "__main__":
    main()
