"""Gas of SESH's token operations beside OpenZeppelin 5's ERC20 + ERC20Permit.

Three tokens are compiled in this run (vyper 0.4.3; npm solc with the optimizer at 200
runs), deployed on the same fresh anvil (Prague), and driven through identical
scenarios: SESH, OpenZeppelin's ERC20 + ERC20Permit (the baseline), and OpenZeppelin
with SESH's extra features (burn, two-step ownership, Arbitrum L1 registration), which
makes the deployment figure comparable like for like. Writes bench/results/gas.json and
the table in bench/README.md.

    python bench/gas.py        (or: make bench)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    Chain,
    compile_solidity,
    compile_vyper,
    environment,
    ratio,
    solc_version,
    update_readme_section,
    write_results,
)
from sesh.contracts.permit import permit_message  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402

ZERO = "0x0000000000000000000000000000000000000000"
OPERATIONS = [
    ("deploy", "deployment (with the 240M genesis mint)"),
    ("transfer_to_new_holder", "transfer to a new holder"),
    ("transfer_to_existing_holder", "transfer to an existing holder"),
    ("approve", "approve (new allowance)"),
    ("transfer_from", "transferFrom (finite allowance, existing holder)"),
    ("permit", "permit (first permit of the owner)"),
]


def measure(chain: Chain, abi, bytecode, constructor_args, name: str) -> dict[str, int]:
    genesis, holder, spender, existing, fresh1, fresh2 = chain.keys[:6]
    token, deploy_gas = chain.deploy(genesis, abi, bytecode, *constructor_args(genesis.address))
    fn = token.functions
    gas = {"deploy": deploy_gas}
    # Warm-up identical for both tokens: the holder and an existing recipient hold SESH.
    chain.call(genesis, fn.transfer(holder.address, 10**15))
    chain.call(genesis, fn.transfer(existing.address, 10**9))

    gas["transfer_to_new_holder"] = chain.call(holder, fn.transfer(fresh1.address, 10**9))
    gas["transfer_to_existing_holder"] = chain.call(holder, fn.transfer(existing.address, 10**9))
    gas["approve"] = chain.call(holder, fn.approve(spender.address, 10**12))
    gas["transfer_from"] = chain.call(
        spender, fn.transferFrom(holder.address, existing.address, 10**9)
    )

    deadline = chain.w3.eth.get_block("latest")["timestamp"] + 3600
    message = permit_message(
        token_name="Session Token",
        token_version="1",
        chain_id=chain.w3.eth.chain_id,
        token=token.address,
        owner=fresh2.address,
        spender=spender.address,
        value=10**12,
        nonce=0,
        deadline=deadline,
    )
    sig = fresh2.sign_message(message)
    gas["permit"] = chain.call(
        spender,
        fn.permit(
            fresh2.address,
            spender.address,
            10**12,
            deadline,
            sig.v,
            sig.r.to_bytes(32, "big"),
            sig.s.to_bytes(32, "big"),
        ),
    )
    assert fn.allowance(fresh2.address, spender.address).call() == 10**12, name
    return gas


def main() -> None:
    print("compiling SessionToken (vyper) and OZToken (solc) ...", flush=True)
    sesh_abi, sesh_code = compile_vyper("SessionToken.vy")
    oz_abi, oz_code = compile_solidity("bench/reference/OZToken.sol", "OZToken")
    full_abi, full_code = compile_solidity("bench/reference/OZTokenFull.sol", "OZTokenFull")
    with start_anvil() as anvil:
        chain = Chain(anvil.url, TEST_MNEMONIC)
        ours = measure(chain, sesh_abi, sesh_code, lambda g: (g, ZERO, ZERO), "SESH")
        baseline = measure(chain, oz_abi, oz_code, lambda g: (g,), "OpenZeppelin")
        same_features = measure(chain, full_abi, full_code, lambda g: (g, ZERO, ZERO), "OZ full")

    rows = []
    results = {}
    for key, label in OPERATIONS:
        results[key] = {
            "label": label,
            "sesh": ours[key],
            "openzeppelin": baseline[key],
            "ratio": ratio(ours[key], baseline[key]),
            "openzeppelin_same_features": same_features[key],
            "ratio_same_features": ratio(ours[key], same_features[key]),
        }
        r = results[key]
        rows.append(
            f"| {label} | {ours[key]:,} | {baseline[key]:,} | {r['ratio']:.3f} "
            f"| {same_features[key]:,} | {r['ratio_same_features']:.3f} |"
        )
    data = {
        **environment(),
        "chain": "anvil 1.7.1, hardfork prague",
        "compilers": {
            "sesh": "vyper 0.4.3 (-O gas)",
            "openzeppelin": f"solc {solc_version()} (200 runs)",
        },
        "baseline": "OpenZeppelin Contracts 5.7.0 ERC20 + ERC20Permit",
        "baseline_same_features": "OpenZeppelin 5.7.0 ERC20 + ERC20Permit + ERC20Burnable"
        " + Ownable2Step + Arbitrum L1 registration (bench/reference/OZTokenFull.sol)",
        "unit": "gas used by the transaction (including the 21,000 base)",
        "operations": results,
    }
    path = write_results("gas", data)

    header = (
        "| operation | SESH | OZ ERC20+Permit | ratio | OZ, SESH's features | ratio |\n"
        "|---|---:|---:|---:|---:|---:|\n"
    )
    table = header + "\n".join(rows)
    print(table)
    calls = [r["ratio"] for k, r in results.items() if k != "deploy"]
    print(
        f"\nworst call ratio {max(calls):.3f}, deployment {results['deploy']['ratio']:.3f} "
        f"({results['deploy']['ratio_same_features']:.3f} like for like); written to {path}"
    )
    update_readme_section(
        "gas",
        f"Token gas, measured {data['date']} on {data['chain']} "
        f"({data['compilers']['sesh']} vs {data['compilers']['openzeppelin']}):\n\n{table}",
    )


if __name__ == "__main__":
    main()
