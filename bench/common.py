"""Shared benchmark plumbing: compiling, deploying on a fresh anvil, recording results."""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from sesh.devnet.chain import compile_vyper  # noqa: F401  (re-exported for the benches)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
SOLC_JS = ROOT / "node_modules" / ".bin" / "solcjs"


def compile_solidity(
    relative_path: str, contract: str, optimizer_runs: int = 200
) -> tuple[list[dict], str]:
    """ABI and bytecode of a Solidity file, with npm's solc and node_modules for imports."""
    request = {
        "language": "Solidity",
        "sources": {relative_path: {"urls": [relative_path]}},
        "settings": {
            "optimizer": {"enabled": True, "runs": optimizer_runs},
            "evmVersion": "prague",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    result = subprocess.run(
        [str(SOLC_JS), "--standard-json", "--base-path", ".", "--include-path", "node_modules"],
        input=json.dumps(request),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    output = json.loads(result.stdout[result.stdout.index("{") :])
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise RuntimeError("\n".join(e["formattedMessage"] for e in errors))
    compiled = output["contracts"][relative_path][contract]
    return compiled["abi"], "0x" + compiled["evm"]["bytecode"]["object"]


def solc_version() -> str:
    return subprocess.run(
        [str(SOLC_JS), "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()


class Chain:
    """web3 on an anvil URL with funded test keys; sends and measures transactions."""

    def __init__(self, url: str, mnemonic: str, accounts: int = 10):
        Account.enable_unaudited_hdwallet_features()
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 120}))
        self.keys = [
            Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}")
            for i in range(accounts)
        ]

    def send(self, key, tx: dict[str, Any]) -> dict:
        tx = {
            "from": key.address,
            "nonce": self.w3.eth.get_transaction_count(key.address),
            "chainId": self.w3.eth.chain_id,
            "gasPrice": self.w3.eth.gas_price,
            **tx,
        }
        if "gas" not in tx:
            tx["gas"] = int(self.w3.eth.estimate_gas(tx) * 1.2) + 50_000
        signed = key.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction reverted: {tx}")
        return receipt

    def deploy(self, key, abi, bytecode, *args) -> tuple[Any, int]:
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        tx = factory.constructor(*args).build_transaction({"from": key.address, "gas": 30_000_000})
        receipt = self.send(key, {"data": tx["data"], "gas": 30_000_000})
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi), receipt["gasUsed"]

    def call(self, key, fn) -> int:
        """Send `fn` (a bound web3 contract function) from `key`; return the gas used."""
        tx = fn.build_transaction({"from": key.address, "gas": 30_000_000})
        receipt = self.send(key, {"to": tx["to"], "data": tx["data"]})
        return receipt["gasUsed"]


@dataclass
class StakingSuite:
    """SESH, the reward pool, the BLS verifier, the staking extension and the staking
    contract, deployed by `deploy_staking_suite`, with the two deployments' gas."""

    token: Any
    pool: Any
    verifier: Any
    extension: Any
    staking: Any
    # The extension's functions (the owner's setters, `sweep`, `seed_nodes`, `start`) at
    # the staking address, where they are called.
    at_staking: Any
    extension_gas: int
    staking_gas: int


def deploy_staking_suite(chain: Chain, owner, seeding: bool = False) -> StakingSuite:
    """The staking contract and what it needs, deployed from `owner` (nothing funded or
    wired: the pool is empty and its beneficiary unset)."""
    zero = "0x" + "00" * 20
    token_abi, token_code = compile_vyper("SessionToken.vy")
    token, _ = chain.deploy(owner, token_abi, token_code, owner.address, zero, zero)
    pool_abi, pool_code = compile_vyper("RewardRatePool.vy")
    pool, _ = chain.deploy(owner, pool_abi, pool_code, token.address)
    verifier_abi, verifier_code = compile_vyper("BLSVerifier.vy")
    verifier, _ = chain.deploy(owner, verifier_abi, verifier_code)
    suite = (token.address, pool.address, verifier.address)
    extension_abi, extension_code = compile_vyper("ServiceNodeStakingExtension.vy")
    extension, extension_gas = chain.deploy(owner, extension_abi, extension_code, *suite)
    staking_abi, staking_code = compile_vyper("ServiceNodeStaking.vy")
    staking, staking_gas = chain.deploy(
        owner, staking_abi, staking_code, *suite, extension.address, seeding
    )
    at_staking = chain.w3.eth.contract(address=staking.address, abi=extension_abi)
    return StakingSuite(
        token, pool, verifier, extension, staking, at_staking, extension_gas, staking_gas
    )


def environment() -> dict[str, str]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def update_readme_section(section: str, markdown: str) -> None:
    """Replace the text between `<!-- {section}:start -->` and `<!-- {section}:end -->`."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def ratio(ours: float, baseline: float) -> float:
    return round(ours / baseline, 3) if baseline else float("nan")
