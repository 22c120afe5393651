"""Gas of the staking contract's operations, beside the live Session contracts' figures.

Deploys SESH, the reward pool, the BLS verifier, ServiceNodeStakingExtension and
ServiceNodeStaking on a fresh anvil (Prague) and measures each operation as a transaction
(`gasUsed`, 21,000 base included): registration (solo, with the proof of possession
checked on chain), contributions (filling and not), distribute and claim (with 11 and
with 2,000 active nodes), exit by request (solo and with 10 contributors) and
network-signed exit, removal and liquidation (0 and 10 non-signers).

The live figures are those of Session's contracts (session-token-contracts, commit
ae0f6a6, solc 0.8.30, on anvil) for the same operations, as given in issue 4.

Writes bench/results/staking.json and the "staking" table of bench/README.md.

    python bench/staking.py [--nodes 2000]      (or: make bench)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    RESULTS,
    Chain,
    deploy_staking_suite,
    environment,
    update_readme_section,
    write_results,
)
from sesh.crypto import bls  # noqa: E402
from sesh.crypto.node_keys import NodeKeys  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402

UNIT = 10**9
REQUIREMENT = 25_000 * UNIT
DAY = 86_400
ENDPOINT = "203.0.113.7:22021"

# Session's live contracts, as measured for issue 4 (low, high) in gas.
LIVE = {
    "register_solo": (1_418_986, 1_464_922),
    "contribute_not_filling": (164_562, 214_222),
    "contribute_filling": (1_650_000, 1_650_000),
    "network_exit_0": (1_102_899, 1_128_186),
    "network_exit_10": (1_102_899 + 54_000, 1_128_186 + 54_000),
    "liquidate_0": (1_150_709, 1_192_239),
    "finalize_exit_solo": (115_211, 115_211),
    "finalize_exit_10_contributors": (227_519, 227_519),
    "claim": (1_130_000, 1_190_000),
    "distribute": (60_726, 60_726),
}
# Done-when bounds: ours at most this fraction of the live figure's low end.
BOUNDS = {"register_solo": 1 / 3, "network_exit_0": 1 / 4, "claim": 1 / 10}


class Bench:
    def __init__(self, chain: Chain):
        self.chain = chain
        self.w3 = chain.w3
        self.deployer = chain.keys[0]
        self.operator = chain.keys[1]
        self.keeper = chain.keys[2]
        self.delegators = chain.keys[3:10]
        self.keys: dict[int, NodeKeys] = {}
        self.gas: dict[str, list[int]] = {}

    def record(self, name: str, gas: int) -> int:
        self.gas.setdefault(name, []).append(gas)
        return gas

    def rpc(self, method, params=None):
        return self.w3.provider.make_request(method, params or [])

    def advance(self, seconds: int) -> None:
        self.rpc("evm_setNextBlockTimestamp", [self.now() + seconds])
        self.rpc("evm_mine")

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def deploy(self) -> None:
        suite = deploy_staking_suite(self.chain, self.deployer)
        self.token, self.pool, self.staking = suite.token, suite.pool, suite.staking
        self.deploy_extension_gas, self.deploy_gas = suite.extension_gas, suite.staking_gas
        call = self.chain.call
        # Funded first: the pool pays for days from `set_beneficiary` on what it held then.
        call(self.deployer, self.token.functions.transfer(self.pool.address, 40_000_000 * UNIT))
        call(self.deployer, self.pool.functions.set_beneficiary(self.staking.address))
        # The operator runs every node (2,000 take 50M SESH); the others need little.
        call(self.deployer, self.token.functions.transfer(self.operator.address, 60_000_000 * UNIT))
        for key in [self.keeper, *self.delegators]:
            call(self.deployer, self.token.functions.transfer(key.address, 1_000_000 * UNIT))
        for key in [self.deployer, self.operator, self.keeper, *self.delegators]:
            call(key, self.token.functions.approve(self.staking.address, 2**256 - 1))
        # One second per block, so activations never share a block (at most 20 may).
        self.rpc("anvil_setBlockTimestampInterval", [1])

    def register(
        self, stake: int = REQUIREMENT, fee_bps: int = 1_000, name: str | None = None
    ) -> int:
        index = len(self.keys) + 1
        keys = NodeKeys.from_seeds(index.to_bytes(8, "big") * 4, (index + 99).to_bytes(32, "big"))
        args = keys.registration_args(
            self.w3.eth.chain_id, self.staking.address, self.operator.address
        )
        fn = self.staking.functions.register_node(*args, ENDPOINT, fee_bps, stake, [])
        gas = self.chain.call(self.operator, fn)
        if name:
            self.record(name, gas)
        node_id = self.staking.functions.node_count().call()
        self.keys[node_id] = keys
        return node_id

    def active_ids(self) -> list[int]:
        return [i for i in self.keys if self.staking.functions.node(i).call()[1] in (2, 3)]

    def signature(self, action: str, node_id: int, timestamp: int, non_signers: list[int]) -> bytes:
        message = {
            "exit": bls.exit_message,
            "remove": bls.remove_message,
            "liquidate": bls.liquidate_message,
        }[action](self.w3.eth.chain_id, self.staking.address, node_id, timestamp)
        signers = [self.keys[i].bls for i in self.active_ids() if i not in non_signers]
        return bls.aggregate_signatures([bls.sign(k, message) for k in signers]).to_eip2537()

    def network(self, action: str, node_id: int, non_signers: list[int], name: str) -> None:
        # Signed a second after the last block: a signature counts only the nodes activated
        # before its timestamp, and every active node here signs (or is a non-signer).
        self.advance(1)
        timestamp = self.now()
        signature = self.signature(action, node_id, timestamp, non_signers)
        fn = getattr(self.staking.functions, f"{action}_with_signature")(
            node_id, timestamp, signature, non_signers
        )
        self.record(name, self.chain.call(self.keeper, fn))

    def distribute_and_claim(self, suffix: str, node_id: int) -> None:
        # Warm-up day: the first release and claim write slots for the first time.
        self.advance(DAY)
        self.chain.call(self.keeper, self.staking.functions.distribute())
        self.chain.call(self.operator, self.staking.functions.claim(node_id))
        self.advance(DAY)
        self.record(
            f"distribute_{suffix}",
            self.chain.call(self.keeper, self.staking.functions.distribute()),
        )
        self.record(
            f"claim_{suffix}", self.chain.call(self.operator, self.staking.functions.claim(node_id))
        )

    def run(self, total_nodes: int) -> None:
        self.deploy()
        first = self.register(name="register_solo")
        for _ in range(9):
            self.register(name="register_solo")
        # A delegated node: quarter from the operator, then delegators.
        open_id = self.register(stake=REQUIREMENT // 4, name="register_open")
        for delegator in self.delegators[:2]:
            fn = self.staking.functions.contribute(open_id, REQUIREMENT // 4)
            self.record("contribute_not_filling", self.chain.call(delegator, fn))
        fn = self.staking.functions.contribute(open_id, REQUIREMENT // 4)
        self.record("contribute_filling", self.chain.call(self.delegators[2], fn))
        self.distribute_and_claim("11_nodes", first)

        # Exits by request: a solo node, and a node with 10 contributors.
        many = self.register(stake=REQUIREMENT // 4)
        share = -(-(REQUIREMENT - REQUIREMENT // 4) // 9)
        for key in [self.deployer, self.keeper, *self.delegators]:
            left = REQUIREMENT - self.staking.functions.node(many).call()[5]
            self.chain.call(key, self.staking.functions.contribute(many, min(share, left)))
        assert len(self.staking.functions.contributors(many).call()) == 10
        solo = self.register()
        for node_id in (solo, many):
            self.record(
                "request_exit",
                self.chain.call(self.operator, self.staking.functions.request_exit(node_id)),
            )
        self.advance(self.staking.functions.exit_delay().call())
        self.chain.call(self.keeper, self.staking.functions.distribute())
        for node_id, name in (
            (solo, "finalize_exit_solo"),
            (many, "finalize_exit_10_contributors"),
        ):
            self.record(
                name, self.chain.call(self.keeper, self.staking.functions.finalize_exit(node_id))
            )

        # Network signatures with 32+ active nodes: 0 and 10 non-signers.
        while len(self.active_ids()) < 40:
            self.register()
        ids = self.active_ids()
        for non_signer_count, suffix in ((0, "0"), (10, "10")):
            target = ids.pop()
            self.chain.call(self.operator, self.staking.functions.request_exit(target))
            self.advance(3 * 3600)
            non_signers = sorted(ids[:non_signer_count])
            self.network("exit", target, non_signers, f"network_exit_{suffix}")
            for action in ("remove", "liquidate"):
                target = ids.pop()
                self.network(action, target, sorted(ids[:non_signer_count]), f"{action}_{suffix}")

        # Many nodes: distribute and claim must cost the same.
        started = time.monotonic()
        active = len(self.active_ids())
        while active < total_nodes:
            self.register()
            active += 1
            if active % 250 == 0:
                print(
                    f"  {active}/{total_nodes} nodes active ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
        self.distribute_and_claim(f"{total_nodes}_nodes", first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2_000, help="active nodes for the O(1) check")
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="rewrite bench/README.md's table from bench/results/staking.json; measure nothing",
    )
    options = parser.parse_args()
    if options.readme_only:
        write_readme(json.loads((RESULTS / "staking.json").read_text()))
        return
    with start_anvil(accounts=10, balance_eth=10**9) as anvil:
        bench = Bench(Chain(anvil.url, TEST_MNEMONIC))
        print(
            f"deploying and measuring on anvil (then {options.nodes} active nodes) ...", flush=True
        )
        bench.run(options.nodes)

    median = {name: int(statistics.median(values)) for name, values in bench.gas.items()}
    results = {}
    for name, gas in median.items():
        low, high = LIVE.get(
            name.replace(f"_{options.nodes}_nodes", "").replace("_11_nodes", ""), (None, None)
        )
        entry = {"gas": gas, "samples": len(bench.gas[name])}
        if low:
            entry.update(live_low=low, live_high=high, ratio_to_live_low=round(gas / low, 3))
        results[name] = entry
    n = options.nodes
    o1 = {
        "distribute": round(median[f"distribute_{n}_nodes"] / median["distribute_11_nodes"], 4),
        "claim": round(median[f"claim_{n}_nodes"] / median["claim_11_nodes"], 4),
    }
    ours = {"register_solo": median["register_solo"], "network_exit_0": median["network_exit_0"],
            "claim": max(median["claim_11_nodes"], median[f"claim_{n}_nodes"])}  # fmt: skip
    bounds = {
        name: {
            "ours": ours[name],
            "bound": int(LIVE[name][0] * fraction),
            "met": ours[name] <= LIVE[name][0] * fraction,
        }
        for name, fraction in BOUNDS.items()
    }
    data = {
        **environment(),
        "chain": "anvil 1.7.1, hardfork prague",
        "unit": "gas used by the transaction (including the 21,000 base)",
        "deploy_staking": bench.deploy_gas,
        "deploy_staking_extension": bench.deploy_extension_gas,
        "operations": results,
        f"ratio_{n}_to_11_active_nodes": o1,
        "done_when": bounds,
    }
    path = write_results("staking", data)
    print(write_readme(data))
    print(f"\n{n} vs 11 active nodes: distribute x{o1['distribute']}, claim x{o1['claim']}")
    for name, b in bounds.items():
        print(f"{name}: {b['ours']:,} <= {b['bound']:,}: {'met' if b['met'] else 'NOT met'}")
    print(f"written to {path}")


def write_readme(data: dict) -> str:
    """bench/README.md's staking table from recorded results (the same every time the
    results are the same: the README never drifts from bench/results/staking.json)."""
    rows = []
    for name, entry in data["operations"].items():
        gas, low, high = entry["gas"], entry.get("live_low"), entry.get("live_high")
        live = f"{low:,}" + (f" – {high:,}" if high != low else "") if low else "—"
        ratio = f"{gas / low:.3f}" if low else "—"
        rows.append(f"| {name} | {gas:,} | {live} | {ratio} |")
    [(key, o1)] = [(k, v) for k, v in data.items() if k.startswith("ratio_")]
    n = key.removeprefix("ratio_").split("_")[0]
    table = (
        "| operation | ours | live Session | ours / live (low) |\n|---|---:|---:|---:|\n"
        + "\n".join(rows)
    )
    bounds = "; ".join(
        f"{name} {b['ours']:,} <= {b['bound']:,} ({'met' if b['met'] else 'NOT met'})"
        for name, b in data.get("done_when", {}).items()
    )
    update_readme_section(
        "staking",
        f"Staking gas, measured {data['date']} on {data['chain']} (median of the samples; "
        f"distribute and claim with 11 and with {n} active nodes: x{o1['distribute']} and "
        f"x{o1['claim']}; goals: {bounds}):\n\n{table}",
    )
    return table


if __name__ == "__main__":
    main()
