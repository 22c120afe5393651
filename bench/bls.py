"""BLS12-381 network signatures: speed and gas, each against a baseline in the same run.

1. titanoboa: wall time of one on-chain verification (`BlsHarness.verify`) with py-evm's
   own EIP-2537 precompiles (baseline) and with the native ones (sesh.testing.boa_bls).
2. anvil (Prague): gas of `hash_to_g2` and of a full network verification (the aggregate
   key of 32 registered nodes, with 0 and with 10 non-signers), as transactions.
3. Python, pinned to one core: sign, verify, and aggregate-and-verify 2,000 node
   signatures of one digest, with sesh.crypto.bls (arkworks) and with py_ecc (baseline).
   py_ecc takes seconds per verification, so its figures for 2,000 are extrapolated from
   a few, and say so.

Writes bench/results/bls.json and the "bls" table of bench/README.md.

    python bench/bls.py        (or: make bench)
"""

from __future__ import annotations

import os

# One thread for arkworks (rayon reads this when its pool starts, on first use); the
# Python section also pins the process to one core (see `python_speed`).
os.environ["RAYON_NUM_THREADS"] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    ROOT,
    Chain,
    compile_vyper,
    environment,
    update_readme_section,
    write_results,
)
from sesh.crypto import bls  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402

SIGNERS = 2_000
REGISTERED = 32
NON_SIGNERS = 10
TARGETS = {
    "verify_gas_no_non_signers": 200_000,
    "gas_per_non_signer": 12_000,
    "boa_native_verify_ms": 20.0,
    "boa_speedup": 30.0,
    "python_aggregate_and_verify_2000_s": 2.0,
}


def timed(function, repeat: int) -> float:
    """Median wall time of `function()` in seconds, after one warm-up call."""
    return statistics.median(samples(function, repeat))


def samples(function, repeat: int) -> list[float]:
    function()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


def titanoboa_verification() -> dict:
    import boa

    from sesh.testing.boa_bls import native_bls_precompiles, pyevm_bls_precompiles

    harness = boa.load_partial(str(ROOT / "contracts/mocks/BlsHarness.vy")).deploy()
    sk = bls.SecretKey.generate()
    message = b"\x5e" * 32
    args = (sk.public_key().to_eip2537(), message, bls.DST_SIG, bls.sign(sk, message).to_eip2537())
    with native_bls_precompiles():
        assert harness.verify(*args)
        native = samples(lambda: harness.verify(*args), repeat=100)
    with pyevm_bls_precompiles():
        assert harness.verify(*args)
        pyevm = samples(lambda: harness.verify(*args), repeat=3)
    return {
        "native_ms": round(statistics.median(native) * 1000, 2),
        "native_min_ms": round(min(native) * 1000, 2),
        "pyevm_ms": round(statistics.median(pyevm) * 1000, 1),
        "speedup": round(statistics.median(pyevm) / statistics.median(native), 1),
        "note": "medians; the machine's two cores are shared, so load moves both figures",
    }


def intrinsic_gas(data: bytes) -> int:
    return 21_000 + sum(4 if b == 0 else 16 for b in data)


def traced_gas(chain: Chain, key, call) -> int:
    """Send `call` with ample gas; the gas used, after checking in anvil's call trace
    that no precompile call failed (a failed one would make the figure meaningless)."""
    tx = call.build_transaction({"from": key.address, "gas": 3_000_000})
    receipt = chain.send(key, {"to": tx["to"], "data": tx["data"], "gas": 3_000_000})
    trace = chain.w3.provider.make_request(
        "debug_traceTransaction", [receipt["transactionHash"].to_0x_hex(), {"tracer": "callTracer"}]
    )["result"]
    failed = [c["to"] for c in trace.get("calls", []) if c.get("error")]
    assert not failed, f"precompile calls failed: {failed}"
    return receipt["gasUsed"]


def anvil_gas() -> dict:
    abi, bytecode = compile_vyper("mocks/BlsHarness.vy")
    with start_anvil() as anvil:
        chain = Chain(anvil.url, TEST_MNEMONIC)
        key = chain.keys[0]
        harness, _ = chain.deploy(key, abi, bytecode)
        fn = harness.functions
        secrets = {node_id: bls.SecretKey(10_000 + node_id) for node_id in range(1, REGISTERED + 1)}
        for node_id, sk in secrets.items():
            chain.call(key, fn.add_key(node_id, sk.public_key().to_eip2537()))
        digest = bls.exit_message(chain.w3.eth.chain_id, harness.address, 3, 1_700_000_000)

        def network_verification(non_signers: list[int]) -> tuple[int, int]:
            signature = bls.aggregate_signatures(
                [bls.sign(sk, digest) for i, sk in secrets.items() if i not in non_signers]
            ).to_eip2537()
            call = fn.verify_network(digest, signature, non_signers)
            assert call.call(), "the benchmark's signature must verify"
            data = bytes.fromhex(call.build_transaction({"from": key.address})["data"][2:])
            used = traced_gas(chain, key, call)
            return used, used - intrinsic_gas(data)

        hash_call = fn.hash_to_g2(digest, bls.DST_SIG)
        hash_data = bytes.fromhex(hash_call.build_transaction({"from": key.address})["data"][2:])
        hash_tx = traced_gas(chain, key, hash_call)
        none_tx, none_exec = network_verification([])
        ten = list(range(2, 2 + 2 * NON_SIGNERS, 2))
        ten_tx, ten_exec = network_verification(ten)
    return {
        "hash_to_g2": {"transaction": hash_tx, "execution": hash_tx - intrinsic_gas(hash_data)},
        "verify_0_non_signers": {"transaction": none_tx, "execution": none_exec},
        "verify_10_non_signers": {"transaction": ten_tx, "execution": ten_exec},
        "per_non_signer_execution": round((ten_exec - none_exec) / NON_SIGNERS),
    }


def python_speed() -> dict:
    from py_ecc.bls import G2ProofOfPossession as py_ecc

    # "On one core": from here on the process may run on one CPU only.
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    message = b"\x5e" * 32
    keys = [bls.SecretKey(1_000 + i) for i in range(SIGNERS)]
    public_keys = [k.public_key() for k in keys]
    wire = [bls.sign(k, message).to_compressed() for k in keys]  # as received from nodes

    native_sign = timed(lambda: bls.sign(keys[0], message), repeat=200)
    signature = bls.Signature.from_compressed(wire[0])
    native_verify = timed(lambda: bls.verify(public_keys[0], message, signature), repeat=200)

    def aggregate_and_verify():
        signatures = [bls.Signature.from_compressed(w) for w in wire]
        assert bls.verify_batch(public_keys, message, signatures)
        return bls.aggregate_signatures(signatures)

    native_aggregate = timed(aggregate_and_verify, repeat=3)

    secret = 1_000
    py_ecc_pk = py_ecc.SkToPk(secret)
    py_ecc_sign = timed(lambda: py_ecc.Sign(secret, message), repeat=3)
    py_ecc_verify = timed(lambda: py_ecc.Verify(py_ecc_pk, message, wire[0]), repeat=2)
    sample = 4
    start = time.perf_counter()
    for i in range(sample):
        assert py_ecc.Verify(public_keys[i].to_compressed(), message, wire[i])
    py_ecc.Aggregate(wire[:sample])
    py_ecc_per_signature = (time.perf_counter() - start) / sample
    py_ecc_aggregate = py_ecc_per_signature * SIGNERS
    return {
        "sign_ms": {
            "native": round(native_sign * 1000, 3),
            "py_ecc": round(py_ecc_sign * 1000, 1),
            "speedup": round(py_ecc_sign / native_sign),
        },
        "verify_ms": {
            "native": round(native_verify * 1000, 3),
            "py_ecc": round(py_ecc_verify * 1000, 1),
            "speedup": round(py_ecc_verify / native_verify),
        },
        "aggregate_and_verify_2000_s": {
            "native": round(native_aggregate, 3),
            "py_ecc_extrapolated": round(py_ecc_aggregate, 1),
            "py_ecc_sample": sample,
            "speedup": round(py_ecc_aggregate / native_aggregate),
        },
    }


def main() -> None:
    print("titanoboa: one verification, py-evm's precompiles vs native ...", flush=True)
    boa_figures = titanoboa_verification()
    print(boa_figures, flush=True)
    print("anvil: gas ...", flush=True)
    gas = anvil_gas()
    print(gas, flush=True)
    print(f"python: sign / verify / aggregate-and-verify {SIGNERS:,}, one core ...", flush=True)
    speed = python_speed()
    print(speed, flush=True)

    checks = {
        "verify_gas_no_non_signers": gas["verify_0_non_signers"]["transaction"]
        <= TARGETS["verify_gas_no_non_signers"],
        "gas_per_non_signer": gas["per_non_signer_execution"] <= TARGETS["gas_per_non_signer"],
        "boa_native_verify_ms": boa_figures["native_ms"] < TARGETS["boa_native_verify_ms"],
        "boa_speedup": boa_figures["speedup"] >= TARGETS["boa_speedup"],
        "python_aggregate_and_verify_2000_s": speed["aggregate_and_verify_2000_s"]["native"]
        < TARGETS["python_aggregate_and_verify_2000_s"],
    }
    data = {
        **environment(),
        "chain": "anvil 1.7.1, hardfork prague",
        "python_backend": "py-arkworks-bls12381 0.5.0 (RAYON_NUM_THREADS=1, one core)",
        "baselines": {
            "titanoboa": "py-evm 0.12.1b1's EIP-2537 precompiles (py_ecc)",
            "python": "py_ecc 8.0.0 (G2ProofOfPossession)",
        },
        "titanoboa_verification": boa_figures,
        "gas": gas,
        "python": speed,
        "targets": TARGETS,
        "targets_met": checks,
    }
    path = write_results("bls", data)

    a = speed["aggregate_and_verify_2000_s"]
    table = "\n".join(
        [
            "| measure | ours | baseline | ratio | target |",
            "|---|---:|---:|---:|---|",
            f"| titanoboa: one verification | {boa_figures['native_ms']} ms (native; "
            f"min {boa_figures['native_min_ms']} ms) "
            f"| {boa_figures['pyevm_ms']:,} ms (py-evm) | {boa_figures['speedup']}× faster "
            "| < 20 ms, ≥ 30× |",
            f"| gas: `hash_to_g2` (32-byte digest) | {gas['hash_to_g2']['transaction']:,} tx "
            f"/ {gas['hash_to_g2']['execution']:,} exec | | | |",
            f"| gas: verification, 0 non-signers | "
            f"{gas['verify_0_non_signers']['transaction']:,} tx "
            f"/ {gas['verify_0_non_signers']['execution']:,} exec | | | ≤ 200,000 |",
            f"| gas: verification, 10 non-signers | "
            f"{gas['verify_10_non_signers']['transaction']:,} tx "
            f"/ {gas['verify_10_non_signers']['execution']:,} exec | | | |",
            f"| gas: each non-signer | {gas['per_non_signer_execution']:,} | | | ≤ 12,000 |",
            f"| Python: sign | {speed['sign_ms']['native']} ms | {speed['sign_ms']['py_ecc']:,} ms "
            f"(py_ecc) | {speed['sign_ms']['speedup']:,}× faster | |",
            f"| Python: verify | {speed['verify_ms']['native']} ms "
            f"| {speed['verify_ms']['py_ecc']:,} ms (py_ecc) "
            f"| {speed['verify_ms']['speedup']:,}× faster | |",
            f"| Python: aggregate-and-verify {SIGNERS:,} signatures | {a['native']} s "
            f"| {a['py_ecc_extrapolated']:,} s (py_ecc, from {a['py_ecc_sample']}) "
            f"| {a['speedup']:,}× faster | < 2 s, one core |",
        ]
    )
    print(table)
    print(f"\ntargets met: {checks}; written to {path}")
    update_readme_section(
        "bls",
        f"Measured {data['date']} on {data['chain']}; Python on one core "
        f"({data['python_backend']}).\n\n{table}",
    )


if __name__ == "__main__":
    main()
