"""Worst-case gas of the network's signatures at scale (issue 15).

Registers `--nodes` (default 3,100) full-stake nodes on a fresh anvil (Prague), each with
its proof of possession checked on chain, then submits network-signed removals with the
largest non-signer lists the contract accepts: 1,024 (`MAX_NON_SIGNERS`, under the
one-third allowance of 3,100 active nodes) for `remove`, `liquidate` and `exit`. Each is
a transaction whose `gasUsed` must stay under Arbitrum's 32,000,000 per-transaction
limit. The baseline in the same run is the same removal with no non-signer, so the
per-non-signer slope is measured, not assumed.

The aggregate signature of 2,000+ signers is made with the sum of their secret keys
(BLS signatures are linear in the key): one signing instead of thousands, and the same
signature the bridges' aggregation would produce.

Writes bench/results/staking_scale.json and the "staking-scale" table of bench/README.md.

    python bench/staking_scale.py [--nodes 3100] [--non-signers 1024]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Chain, environment, update_readme_section, write_results  # noqa: E402
from bench.staking import Bench  # noqa: E402
from sesh.crypto import bls  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402

ARBITRUM_TX_GAS_LIMIT = 32_000_000
MESSAGES = {
    "exit": bls.exit_message,
    "remove": bls.remove_message,
    "liquidate": bls.liquidate_message,
}


class ScaleBench(Bench):
    """The gas bench's deployment and registration, with signatures by summed keys."""

    def deploy(self) -> None:
        super().deploy()
        # 3,100 nodes take 77.5M SESH; the gas bench funded the operator with 60M.
        self.chain.call(
            self.deployer,
            self.token.functions.transfer(self.operator.address, 40_000_000 * 10**9),
        )

    def signature(self, action: str, node_id: int, timestamp: int, non_signers: list[int]) -> bytes:
        message = MESSAGES[action](self.w3.eth.chain_id, self.staking.address, node_id, timestamp)
        skip = set(non_signers)
        total = sum(self.keys[i].bls._value for i in self.active if i not in skip)
        return bls.sign(bls.SecretKey(total % bls.CURVE_ORDER), message).to_eip2537()

    def submit(self, action: str, node_id: int, non_signers: list[int], name: str) -> None:
        """The gas bench's network-signed call (signed with the summed keys above); the
        node leaves the active list."""
        self.network(action, node_id, non_signers, name)
        self.active.remove(node_id)

    def run_scale(self, nodes: int, non_signers: int) -> None:
        self.deploy()
        started = time.monotonic()
        self.active: list[int] = []
        while len(self.active) < nodes:
            self.active.append(self.register())
            if len(self.active) % 250 == 0:
                print(
                    f"  {len(self.active)}/{nodes} nodes active "
                    f"({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
        on_chain = self.staking.functions.active_nodes().call()
        assert on_chain == nodes, (on_chain, nodes)
        self.registered_seconds = time.monotonic() - started
        # The non-signers are the lowest ids; targets come from the top.
        excluded = sorted(self.active[:non_signers])
        # Baseline: the same removal, every active node signing.
        self.submit("remove", self.active[-1], [], "remove_0")
        for action in ("remove", "liquidate"):
            self.submit(action, self.active[-1], excluded, f"{action}_{non_signers}")
        # A fast exit needs the node's request and the notice before it.
        target = self.active[-1]
        self.chain.call(self.operator, self.staking.functions.request_exit(target))
        self.advance(3 * 3600)
        self.submit("exit", target, excluded, f"exit_{non_signers}")
        self.active_after = self.staking.functions.active_nodes().call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3_100)
    parser.add_argument("--non-signers", type=int, default=1_024)
    options = parser.parse_args()
    if options.non_signers * 3 > options.nodes - 4:
        parser.error("non-signers must stay within a third of the nodes left at the last vote")
    with start_anvil(accounts=10, balance_eth=10**9) as anvil:
        bench = ScaleBench(Chain(anvil.url, TEST_MNEMONIC))
        print(f"registering {options.nodes} nodes on anvil ...", flush=True)
        bench.run_scale(options.nodes, options.non_signers)

    n = options.non_signers
    gas = {name: values[0] for name, values in bench.gas.items()}
    slope = (gas[f"remove_{n}"] - gas["remove_0"]) / n
    worst = max(gas.values())
    data = {
        **environment(),
        "chain": "anvil 1.7.1, hardfork prague",
        "unit": "gas used by the transaction (including the 21,000 base)",
        "active_nodes": options.nodes,
        "non_signers": n,
        "registration_seconds": round(bench.registered_seconds, 1),
        "operations": gas,
        "gas_per_non_signer": round(slope),
        "arbitrum_tx_gas_limit": ARBITRUM_TX_GAS_LIMIT,
        "worst_over_limit": round(worst / ARBITRUM_TX_GAS_LIMIT, 4),
        "met": worst <= ARBITRUM_TX_GAS_LIMIT,
    }
    path = write_results("staking_scale", data)
    rows = "\n".join(
        f"| {name} | {value:,} | {value / ARBITRUM_TX_GAS_LIMIT:.3f} |"
        for name, value in gas.items()
    )
    table = "| signed operation | gas | / 32M |\n|---|---:|---:|\n" + rows
    print(table)
    verdict = "met" if data["met"] else "NOT met"
    print(f"per non-signer: {slope:,.0f} gas; worst {worst:,} ({verdict})")
    update_readme_section(
        "staking-scale",
        f"Network signatures at scale, measured {data['date']} on {data['chain']}: "
        f"{options.nodes:,} active nodes, {n:,} non-signers (the contract's cap, within "
        f"the one-third allowance); the baseline is the same removal with none "
        f"({round(slope):,} gas per non-signer):\n\n{table}",
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
